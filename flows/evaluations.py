"""The performance evaluations (M3): the office's form recording an evaluation's result, and
the office's decision (K5) on a cancellation that a failed evaluation proposes — a typed
input like the chair's approval (V10): suspended when served (it may take days; the worker
is freed and the run re-enters on resume), paused in-process.

Nothing is cancelled before that decision; a confirmation runs K5 (`cancel`, ground
`failed_evaluation`, decided on the clock's KST date), a dismissal only records why.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows.models import (
    Actor,
    CancellationDecision,
    CancellationReviewOutcome,
    NamedChoice,
    Now,
    SupportOutcome,
    described,
)
from flows.owed import deliver, run_mode, wait_for_input
from flows.refusals import ends_refused
from flows.run_names import named_run
from flows.support_import import applied
from sangsaeng.domain.clock import format_day
from sangsaeng.domain.evaluations import (
    KIND_NAMES,
    RESULT_NAMES,
    EvaluationKind,
    EvaluationResult,
    ProposalState,
)
from sangsaeng.io.after_selection import EvaluationInput, SupportFiles
from sangsaeng.services.evaluations import Pending
from tasks import evaluations
from tasks.support_import import record_support

DECISION_TIMEOUT_S = 7 * 24 * 3600  # in-process only: a served run waits suspended


def decision_brief(pending: Pending) -> str:
    """The form's description: the evaluation the office decides on, and what confirming does."""
    kind = EvaluationKind(pending.kind)
    return "\n".join([
        f"### {pending.receipt_no} 취소 검토 / proposed cancellation (M3, K5)",
        "",
        f"- 과제 / product: {pending.product_name} ({pending.round_id})",
        f"- 평가 / evaluation: {KIND_NAMES[kind]} ({kind}), {format_day(pending.held_on)} "
        "— **부적합 / fail**",
        f"- 비고 / note: {pending.note or '-'}",
        f"- 제안일 / proposed on: {format_day(pending.proposed_on)}",
        "",
        "확정하면 확인서가 모두 취소되고 주관기업은 5년간 참여가 제한됩니다. / Confirming "
        "cancels every certificate of the project and bans its leads for five years (K5a); "
        "dismissing cancels nothing.",
    ])


async def _wait_for_office(pending: Pending) -> CancellationDecision:
    form = CancellationDecision.with_initial_data(description=decision_brief(pending),
                                                  confirm=False)
    key = f"review-cancellation-{pending.id}"
    decision: CancellationDecision = await wait_for_input(
        run_mode(), form, key, DECISION_TIMEOUT_S, waiting=(
            f"{pending.receipt_no} 선정 취소 여부의 결정을 기다립니다: Prefect UI의 이 실행에서 "
            "Resume을 눌러 확정하거나 기각하세요"))
    return decision


@flow(name="review_cancellation", flow_run_name=named_run, persist_result=False)
@described
async def review_cancellation(
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    now: Now = None,
) -> CancellationReviewOutcome:
    """M3/K5: the office confirms or dismisses the cancellation a failed interim or completion
    evaluation proposed. Confirm: the project's certificates are cancelled and its leads
    banned (K5a), each lead told; dismiss: nothing is cancelled. Both are audited."""
    pending = evaluations.pending_cancellation(receipt_no.strip())
    if pending is None:
        return CancellationReviewOutcome(
            round_id="-", detail=f"no cancellation of {receipt_no} is pending")
    decision = await _wait_for_office(pending)
    clock = now if now is not None else datetime.now(UTC)
    state, banned = evaluations.decide_cancellation(
        pending.id, decision.confirm, decision.reason, decision.decided_by, clock)
    get_run_logger().info("%s 선정 취소를 %s했습니다%s", pending.receipt_no,
                          "확정" if state == ProposalState.CONFIRMED else "기각",
                          f" (참여 제한 주관기업 {len(banned)}곳)" if banned else "")
    await deliver(None)
    return CancellationReviewOutcome(round_id=pending.round_id, detail=f"cancellation {state}",
                                     state=state, banned=len(banned))


@flow(name="record_evaluation", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def record_evaluation(
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    kind: Annotated[EvaluationKind, NamedChoice(KIND_NAMES), Field(description=(
        "평가 종류 / the M3 evaluation"))],
    held_on: Annotated[date, Field(description="평가일 / the day it was held")],
    result: Annotated[EvaluationResult, NamedChoice(RESULT_NAMES), Field(description=(
        "결과 / result"))],
    note: Annotated[str, Field(description="비고 (감사 기록) / note (audited)")] = "",
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """M3: record a performance evaluation's result. A `fail` of an interim or completion
    evaluation proposes a K5 cancellation (failed_evaluation) that the office confirms or
    dismisses in `review_cancellation`; nothing is cancelled here.

    Refused: an unknown receipt number, a project not selected or without a certificate, the
    same evaluation already recorded with another result (the first stands).
    """
    clock = now if now is not None else datetime.now(UTC)
    done = record_support(SupportFiles(evaluations=[EvaluationInput(
        receipt_no.strip(), kind, held_on, result, note.strip())]), clock, actor)
    return await applied(done, False, clock, actor)
