"""The certificates (확인서, K1–K5): the `certificate_issuance` step of the round and the
office's forms about them — production confirmed (K1), a change of particulars (K4), a
cancellation (K5).

Every form records its good rows, lists refused ones (the run fails with them) and delivers
the notices it owes (flows/support_import.py `applied`), like the round's steps.
"""

from __future__ import annotations

from datetime import date
from pathlib import PurePath
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows import registry
from flows.models import (
    Actor,
    Chain,
    IssuanceOutcome,
    NamedChoice,
    Now,
    ProductionItem,
    RoundId,
    SupportOutcome,
    described,
    run_clock,
)
from flows.owed import begin, finish
from flows.refusals import ends_refused
from flows.run_names import named_run
from flows.support_import import applied
from sangsaeng.domain.certificates import GROUND_NAMES, Ground, ReissueField
from sangsaeng.domain.names import FIELDS
from sangsaeng.domain.states import RoundState
from sangsaeng.io.after_selection import (
    CancellationInput,
    ChangeInput,
    SupportFiles,
)
from sangsaeng.io.rows import ProductionRow
from tasks import certificates
from tasks.support_import import record_support


@flow(name="certificate_issuance", flow_run_name=named_run, persist_result=False)
@described
async def certificate_issuance(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                               chain: Chain = False) -> IssuanceOutcome:
    """K1–K4: issue a certificate (확인서) to every lead whose production is confirmed.

    Numbered per (issue year, track) after the highest known number (K2a), valid for the
    round's support years from the issue date (K3), printed as a PDF under
    var/certificates/<round>/ and sent to the lead with `certificate.issued`. Safe to re-run.
    """
    run = await begin(registry.CERTIFICATE_ISSUANCE, round_id, chain)
    done = certificates.issue_certificates(round_id, run_clock(now), actor)
    if done.issued:
        detail = f"{done.issued} certificate(s) issued: {', '.join(done.ranges.values())}"
    elif done.state is RoundState.NOTIFIED:  # nothing issued yet in this round
        detail = ("nothing to issue: no lead's production is confirmed yet (K1: "
                  "confirm_production or `support import production.csv`)")
    else:
        detail = "nothing new to issue: every confirmed lead holds its certificate"
    if done.address_warning:  # item 4 of issue 25: said in the run's log and its outcome
        get_run_logger().warning(done.address_warning)
        detail += f"; {done.address_warning}"
    if done.skipped:
        counted = ", ".join(f"{why} {n}" for why, n in done.skipped.items())
        detail += f"; confirmations giving none: {counted} (listed in {done.skipped_file})"
        get_run_logger().warning("생산 확인이 있으나 확인서를 발급하지 않은 과제 %d건 (목록: %s)",
                                 sum(done.skipped.values()),
                                 PurePath(done.skipped_file or "").name or "-")
    # chained (served): listing support follows once the round is certifying
    return await finish(run, IssuanceOutcome(
        step=run.entry.name, round_id=round_id, detail=detail, round_state=done.state,
        issued=done.issued, ranges=done.ranges, skipped=done.skipped,
        skipped_file=done.skipped_file))


@flow(name="confirm_production", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def confirm_production(
    items: Annotated[list[ProductionItem], Field(description=(
        "생산 확인된 주관기업 (접수번호·사업자등록번호·확인 일시) / leads whose production "
        "is confirmed"))],
    actor: Annotated[str, Field(description="입력하는 담당자 (감사 기록) / who records them")],
    chain: Annotated[bool, Field(description=(
        "저장 후 확인서 발급 (certificate_issuance) / issue the certificates once "
        "recorded"))] = True,
    now: Now = None,
) -> SupportOutcome:
    """K1: record production confirmations (생산 확인); with `chain`, issue their certificates.

    Refused: an application that is not selected, a BRN that is not one of its leads.
    """
    clock = run_clock(now)
    done = record_support(SupportFiles(production=[ProductionRow(
        i.receipt_no.strip(), i.brn.strip(), i.confirmed_at or clock) for i in items]),
        clock, actor)
    return await applied(done, chain, clock, actor)


@flow(name="change_certificate", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def change_certificate(
    number: Annotated[str, Field(min_length=1, description="확인서 번호 / certificate number")],
    field: Annotated[ReissueField, NamedChoice(FIELDS), Field(description=(
        "변경 항목: 기업명, 대표자 또는 주소 / what changed"))],
    new_value: Annotated[str, Field(min_length=1, description="변경된 값 / the new value")],
    changed_on: Annotated[date, Field(description="변경일 / when it changed")],
    reason: Annotated[str, Field(description="사유 (감사 기록) / why (audited)")],
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """K4: reissue a certificate after a change of name, representative or address — same
    number, version + 1, a new PDF sent to the lead; earlier versions are kept."""
    clock = run_clock(now)
    done = record_support(SupportFiles(changes=[ChangeInput(
        number.strip(), field, new_value.strip(), changed_on, reason)]), clock, actor)
    return await applied(done, False, clock, actor)


@flow(name="cancel_certificates", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def cancel_certificates(
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    ground: Annotated[Ground, NamedChoice(GROUND_NAMES), Field(description=(
        "취소 사유 (법령상 근거) / the legal ground (K5)"))],
    decided_on: Annotated[date, Field(description="취소 결정일 / the date of the decision")],
    reason: Annotated[str, Field(min_length=1, description="상세 사유 (감사 기록) / why")],
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """K5/K5a: cancel a selected project: its certificates become `cancelled` from
    `decided_on`, each lead is banned for five years (later rounds screen it out as
    SANCTIONED), and each lead is told. Cancelling twice changes nothing."""
    clock = run_clock(now)
    done = record_support(SupportFiles(cancellations=[CancellationInput(
        receipt_no.strip(), ground, decided_on, reason)]), clock, actor)
    return await applied(done, False, clock, actor)
