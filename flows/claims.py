"""The office's form for a 가치창출 certification-cost claim (M2), decided against the
project's remaining cap."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.models import Actor, Now, SupportOutcome, described, run_clock
from flows.refusals import ends_refused
from flows.run_names import named_run
from flows.support_import import applied
from sangsaeng.domain.claims import MAX_CLAIM_KRW
from sangsaeng.io.after_selection import ClaimInput, SupportFiles
from tasks.support_import import record_support


@flow(name="submit_cost_claim", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def submit_cost_claim(
    claim_id: Annotated[str, Field(min_length=1, max_length=40, description=(
        "신청번호 (같은 번호는 한 번만 결정) / the claim's id (decided once)"))],
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    submitted_on: Annotated[date, Field(description="신청일 / the day the claim was submitted")],
    amount_krw: Annotated[int, Field(gt=0, le=MAX_CLAIM_KRW, description=(
        "신청 금액 (원, 정수) / the amount claimed, whole KRW"))],
    item: Annotated[str, Field(min_length=1, description=(
        "지원 항목 (예: KC 인증 시험비) / what the cost is for"))],
    evidence: Annotated[str, Field(description=(
        "증빙 (예: 영수증 번호) / evidence, e.g. the receipt's number"))] = "",
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """M2: decide one 가치창출 certification-cost claim against the project's remaining cap
    (`[support] cost_cap_krw`, 15,000,000 KRW) and tell its leads. Refused: an unknown receipt
    number, or a claim id already decided with other content. Decisions are final."""
    clock = run_clock(now)
    done = record_support(SupportFiles(cost_claims=[ClaimInput(
        claim_id.strip(), receipt_no.strip(), submitted_on, amount_krw, item.strip(),
        evidence.strip())]), clock, actor)
    return await applied(done, False, clock, actor)
