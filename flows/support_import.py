"""The bulk after-selection import `support_import` (INTERFACES §5: production, changes,
cancellations, cost claims, listing, evaluations), and `applied`, the common end of it and
of every after-selection form: issue (chain), propose cancellations (M3), deliver, publish,
report — or fail with the refused rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows import registry, round_runs
from flows.models import Actor, Now, SupportOutcome, described, run_clock
from flows.owed import deliver, publish, run_mode, when_served
from flows.refusals import ends_refused, refused_table
from flows.run_names import named_run
from sangsaeng.errors import InputRefused
from tasks import certificates
from tasks.results import SupportApplied
from tasks.support_import import import_support


async def applied(done: SupportApplied, chain: bool, now: datetime, actor: str
                  ) -> SupportOutcome:
    """Finish an after-selection input (a form or `support_import`): issue for the rounds
    whose production was confirmed (chain), deliver, report."""
    issued: dict[str, int] = {}
    if chain:
        for round_id in done.rounds_to_issue:
            result = certificates.issue_certificates(round_id, now, actor)
            issued[round_id] = result.issued
            if result.address_warning:
                get_run_logger().warning(result.address_warning)
    rounds = sorted({*done.rounds_to_issue})
    reviews = await _propose(done.pending_cancellations)
    await deliver(None)  # notices of any round: changes and cancellations name no round
    for round_id in rounds:
        publish(round_id)
    if done.refused:
        await refused_table("after-selection-refused", "선정 후 입력", done.refused)
        lines = [str(e) for e in done.refused]
        if done.rejected_file:
            lines.append(f"… 외 {done.refused_count - len(lines)}건: 거부 목록 파일 "
                         f"{PurePath(done.rejected_file).name}")
        raise InputRefused("행", lines, sum(done.recorded.values()), done.refused_rows)
    detail = ", ".join(f"{kind} {n} recorded" for kind, n in done.recorded.items()) \
        or "nothing new"
    return SupportOutcome(
        round_id=",".join(rounds) or "-", detail=detail, recorded=done.recorded,
        unchanged=done.unchanged, issued=issued, not_read=list(done.not_read),
        pending_cancellations=list(done.pending_cancellations), reviews=reviews)


async def _propose(receipts: tuple[str, ...]) -> dict[str, str]:
    """M3: a failed evaluation's cancellation waits for the office — served, in a
    `review_cancellation` run started here (receipt → run id); in-process, it is reported."""
    async def start() -> dict[str, str]:
        return {receipt_no: await round_runs.start_review(receipt_no) for receipt_no in receipts}

    reviews = await when_served(run_mode(), start, None)
    if reviews is None:
        for receipt_no in receipts:
            get_run_logger().warning("%s 선정 취소가 제안되었습니다: '%s'에서 확정하거나 "
                                     "기각하십시오", receipt_no, registry.REVIEW_CANCELLATION.title)
    return reviews or {}


@flow(name="support_import", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def support_import(
    path: Annotated[str, Field(min_length=1, description=(
        "서버의 파일 또는 폴더 (production·changes·cancellations·cost_claims·listing·"
        "evaluations .csv, "
        "또는 .xlsx) / a file or folder on the server"))],
    actor: Actor = "prefect",
    chain: Annotated[bool, Field(description=(
        "생산 확인 후 확인서 발급 / issue certificates for confirmed production"))] = True,
    now: Now = None,
) -> SupportOutcome:
    """INTERFACES §5: import the after-selection files (good rows kept, refused rows listed)."""
    clock = run_clock(now)
    done = import_support(path, clock, actor)
    return await applied(done, chain, clock, actor)
