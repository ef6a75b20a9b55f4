"""The round as flows: open_call → intake → close_intake → screening → committee_review →
selection_notice → certificate_issuance → mall_listing_support (flows/certificates.py). Each
step is its own flow (deployable alone) and safe to re-run; cancel_round ends a round before
its selection is released.

A step never waits for mail: its transaction queues the notices it owes, and delivery runs
apart — as a `deliver_notices` run when served, once at the end of the `round` flow, or at
the end of a step run alone in-process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from pydantic import Field

from flows import registry, round_runs
from flows.certificates import certificate_issuance, mall_listing_support
from flows.models import (
    Actor,
    CancelOutcome,
    Chain,
    ChairApproval,
    DataPath,
    Now,
    RoundFile,
    RoundId,
    RoundReport,
    Step,
    StepOutcome,
    WaitForChair,
    described,
)
from flows.owed import attribute, deliver, in_round_flow, owed, publish
from sangsaeng.domain.clock import format_kst
from sangsaeng.domain.states import RoundState
from sangsaeng.errors import ImportRejected, StepError
from sangsaeng.progress import report
from tasks import artifacts, steps
from tasks.notices import deliver_notices
from tasks.results import Imported
from tasks.rounds import round_closes_at

APPROVAL_TIMEOUT_S = 7 * 24 * 3600
# A runner starts scheduled runs up to 10 s early (its prefetch): the closure waits for the minute.
EARLY_START = timedelta(minutes=2)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _counts(data: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in data.items() if v) or "nothing new"


async def _chain(round_id: str, chain: bool, state: RoundState) -> None:
    """With `chain` (deadline and chained runs), start the deployment of the next step."""
    if chain and round_runs.is_served():
        await round_runs.start_next_step(round_id, state)


@flow(name="open_call", persist_result=False)
@described
async def open_call(config: RoundFile, now: Now = None, actor: Actor = "prefect"
                    ) -> StepOutcome:
    """Register the round from its configuration file and publish the call (draft → open).

    `config` is a round id (config/rounds/<id>.toml, the UI's choice) or, from the CLI, a path.
    """
    report("open_call", 0, 1)
    opened = steps.open_round(config, _now(now), actor)  # R1/R3; dates may move (T2)
    round_id = opened.round_id
    await round_runs.tag_own_run(round_id)
    report("open_call", 1, 1)
    outcome = StepOutcome(step=Step(registry.OPEN_CALL.name), detail="opened" if opened.opened else
                          "already open", data={"round_id": round_id},
                          round_state=opened.state)
    if round_runs.is_served() and opened.state is RoundState.OPEN:
        # T2/S1: the deadline runs, moved with the dates (never in replays)
        outcome.data["deadline_runs"] = await round_runs.ensure_deadline_runs(
            round_id, opened.closes_at, opened.supplement_deadline, _now(now))
    await owed(round_id, outcome)
    publish(round_id)
    return outcome


def _rejected(result: Imported) -> ImportRejected:
    more = result.rejected - len(result.errors)
    lines = [*result.errors,
             *([f"… {more} more rejected row(s), every one listed in {result.errors_file}"]
               if more else [])]
    return ImportRejected(result.rejected, sum(result.added.values()), lines)


@flow(name="intake", persist_result=False)
@described
async def intake(round_id: RoundId, data: DataPath = "", now: Now = None,
                 actor: Actor = "prefect") -> StepOutcome:
    """Import the round package idempotently; rejected rows fail the step (good rows kept)."""
    await round_runs.tag_own_run(round_id)
    report("intake", 0, 1)
    result = steps.import_package(round_id, data, _now(now), actor)
    report("intake", 1, 1)
    corrected = sum(result.corrected.values())
    detail = _counts(result.added) + (f"; corrected {corrected}" if corrected else "")
    get_run_logger().info("intake of %s read %s: %s", round_id, result.source, detail or
                          "nothing new")
    outcome = StepOutcome(step=Step(registry.INTAKE.name), detail=detail,
                          round_state=result.state, data={
        "added": result.added, "corrected": result.corrected, "rejected": result.rejected})
    await owed(round_id, outcome)  # the good rows' receipts go out; the step fails for the rest
    if result.rejected:
        raise _rejected(result)
    publish(round_id)
    return outcome


async def _until_deadline(round_id: str, now: datetime | None) -> None:
    """A deadline run started early by the runner waits for the deadline itself (T2)."""
    if now is not None or not round_runs.is_served():
        return
    early = round_closes_at(round_id) - datetime.now(UTC)
    if timedelta(0) < early <= EARLY_START:
        await asyncio.sleep(early.total_seconds())


@flow(name="close_intake", persist_result=False)
@described
async def close_intake(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                       chain: Chain = False) -> StepOutcome:
    """T2: close intake at `closes_at` (scheduled at the deadline; a no-op before it).

    With `chain` (the deadline run), screening starts as soon as intake is closed.
    """
    await round_runs.tag_own_run(round_id)
    if chain:
        await _until_deadline(round_id, now)
    closed = steps.close_intake(round_id, _now(now), actor)
    waiting = ("the deadline (intake is open)"
               if closed.state in (RoundState.DRAFT, RoundState.OPEN) else None)
    publish(round_id)
    if closed.closed:
        await _chain(round_id, chain, closed.state)
    return StepOutcome(step=Step(registry.CLOSE_INTAKE.name), detail="closed" if closed.closed
                       else closed.state.value, waiting_for=waiting, round_state=closed.state)


@flow(name="screening", persist_result=False)
@described
async def screening(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                    chain: Chain = False) -> StepOutcome:
    """§4: screen pending applications; supplements are re-checked at their deadline (S1).

    With `chain` (deadline and chained runs), the committee review starts once screening is
    final.
    """
    await round_runs.tag_own_run(round_id)
    report("screening", 0, 1)
    result = steps.screen(round_id, _now(now), actor)
    report("screening", 1, 1)
    waiting = None
    if result.waiting and result.supplement_deadline is not None:
        waiting = (f"supplements of {result.waiting} application(s) until "
                   f"{format_kst(result.supplement_deadline)}")
    outcome = await owed(round_id, StepOutcome(
        step=Step(registry.SCREENING.name), detail=_counts(result.moved), waiting_for=waiting,
        data={"moved": result.moved, "waiting": result.waiting}, round_state=result.state))
    publish(round_id)
    if not waiting:
        await _chain(round_id, chain, result.state)
    return outcome


ChairInput = Annotated[ChairApproval | None, Field(description=(
    "위원장 승인 (비우면 UI에서 입력) / the chair's approval; empty = asked in the UI"))]


@flow(name="committee_review", persist_result=False)
@described
async def committee_review(
    round_id: RoundId, now: Now = None, approval: ChairInput = None,
    wait_for_chair: WaitForChair = True, actor: Actor = "prefect", chain: Chain = False,
) -> StepOutcome:
    """§5: record the committee's pending decision, then take the chair's approval (V10).

    Without `approval`, the run waits for the chair's input in the Prefect UI, a form that
    shows the proposed selection: suspended when a deployment started it (the worker is
    freed; the run starts again on resume), paused in-process otherwise (or stops, with
    `wait_for_chair=False`, so that a later run can bring it). With `chain`, the selection
    notice starts once the chair has approved. A refusal (`approve` off) decides and releases
    nothing: it is audited, the round stays in review and the run ends waiting for a new
    decision (run committee_review again).
    """
    await round_runs.tag_own_run(round_id)  # cancel_round finds the chair's suspended run
    report("committee_review", 0, 1)
    proposed = steps.propose(round_id, _now(now), actor)
    report("committee_review", 1, 1)
    outcome = await owed(round_id, StepOutcome(  # reviewers' assignments
        step=Step(registry.COMMITTEE_REVIEW.name), detail=_counts(proposed.proposed),
        round_state=proposed.state,
        data={"proposed": proposed.proposed, "excluded": [list(e) for e in proposed.excluded],
              "excluded_count": proposed.excluded_count}))
    if proposed.state is not RoundState.REVIEW:  # approved earlier: the decision is frozen
        if approval is not None and (approval.exclude or approval.include):
            raise StepError(f"round {round_id} is {proposed.state}: the chair's changes apply "
                            "only while the round awaits approval (state review)")
        return outcome
    if approval is None and wait_for_chair:
        approval = await _wait_for_chair(round_id)
    if approval is None:
        outcome.waiting_for = "the chair's approval (rerun with --approve)"
        return outcome
    decided = steps.decide(
        round_id, approval.approve, [(a.receipt_no, a.reason) for a in approval.exclude],
        [(a.receipt_no, a.reason) for a in approval.include], approval.reason, _now(now),
        f"chair:{approval.approved_by}")
    outcome.round_state = decided.state
    if not decided.approved:  # V10: refused (audited); nothing is decided or released
        outcome.waiting_for = ("a new decision of the chair: the proposal was not approved "
                               "(run committee_review again)")
        return outcome
    publish(round_id)
    await _chain(round_id, chain, decided.state)
    return outcome


async def _wait_for_chair(round_id: str) -> ChairApproval:
    """V10: the chair's typed input, the proposed selection shown in the form — suspended
    under a deployment, paused in-process (after the reviewers' assignments went out)."""
    artifacts.publish_round(round_id)  # the whole proposal, as the selection artifact
    form = ChairApproval.with_initial_data(
        description=artifacts.proposed_selection_brief(round_id), approve=False)
    key = f"chair-approval-{round_id}"
    if round_runs.is_served():  # may take days: free the worker; the run re-enters on resume
        return await asuspend_flow_run(wait_for_input=form, key=key)
    if in_round_flow():
        deliver_notices(round_id)
    return await apause_flow_run(wait_for_input=form, timeout=APPROVAL_TIMEOUT_S,
                                 poll_interval=2, key=key)


@flow(name="selection_notice", persist_result=False)
@described
async def selection_notice(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                           chain: Chain = False) -> StepOutcome:
    """V10: release the approved decisions (decided → notified) and owe the notices.

    With `chain`, the certificate issuance follows (for leads whose production is confirmed).
    """
    await round_runs.tag_own_run(round_id)
    released = steps.release(round_id, _now(now), actor)
    outcome = await owed(round_id, StepOutcome(
        step=Step(registry.SELECTION_NOTICE.name),
        detail=_counts(released.released) if released.released else "already released",
        data={"released": released.released},
        round_state=released.state))
    publish(round_id)
    await _chain(round_id, chain, released.state)
    return outcome


@flow(name="cancel_round", persist_result=False)
@described
async def cancel_round(
    round_id: RoundId,
    reason: Annotated[str, Field(min_length=1, description=(
        "취소 사유 (필수, 감사 기록) / why the round is cancelled (required, audited)"))],
    actor: Actor = "prefect",
) -> CancelOutcome:
    """Cancel the round (the office withdraws the call) and every run of it that still waits.

    Allowed until the selection is released (draft … decided); afterwards only K5's
    per-project cancellation remains. Every step refuses a cancelled round, and its
    configuration file does not bring it back. Under a deployment, the round's scheduled,
    pending and paused runs (deadline runs, the chair's suspended review) are cancelled.
    """
    await round_runs.tag_own_run(round_id)
    done = steps.cancel_round(round_id, reason, datetime.now(UTC), actor)
    outcome = CancelOutcome(round_id=round_id, cancelled_at=done.at, reason=done.reason,
                            actor=done.actor, already=not done.cancelled)
    if round_runs.is_served():  # the runs wait on the server (CLI runs schedule none)
        runs = await round_runs.cancel_waiting_runs(round_id, done.reason)
        outcome.runs_cancelled, outcome.runs_refused = runs["cancelled"], runs["refused"]
        if runs["refused"]:
            get_run_logger().warning("runs of %s not cancelled: %s", round_id, runs["refused"])
    artifacts.publish_round(round_id)  # the status shows the round as cancelled
    return outcome


@flow(name="round", persist_result=False)
@described
async def round_flow(
    config: RoundFile, data: DataPath = "", now: Now = None,
    approve: Annotated[bool, Field(description=(
        "위원장 승인을 함께 제출 / give the chair's approval (V10) with the run"))] = False,
    until: Annotated[Step | None, Field(description="이 단계 후 멈춤 / stop after this step")
                     ] = None,
    wait_for_chair: WaitForChair = False, actor: Actor = "prefect", approval: ChairInput = None,
) -> RoundReport:
    """Run one round end to end; stops at `until`, or where the round must wait.

    `approval` is the chair's whole input (exclusions and inclusions, V10); `approve` alone
    approves the proposal as it stands. Every notice the steps owe is delivered at the end.
    """
    # The steps run inside this flow run (`.fn`): each is also a flow of its own for the UI,
    # but on Prefect's SQLite a nested flow run's creation often meets "database is locked",
    # a 503 and a ~2 s client retry (measured with 3.9.1; bench/README.md).
    clock = _now(now)
    first = await open_call.fn(config, clock, actor)
    round_id = str(first.data["round_id"])
    chair = approval or (ChairApproval(approve=True, approved_by=actor) if approve else None)
    runs: dict[Step, Callable[[], Awaitable[StepOutcome]]] = {
        Step(registry.INTAKE.name): lambda: intake.fn(round_id, data, clock, actor),
        Step(registry.CLOSE_INTAKE.name): lambda: close_intake.fn(round_id, clock, actor),
        Step(registry.SCREENING.name): lambda: screening.fn(round_id, clock, actor),
        Step(registry.COMMITTEE_REVIEW.name): lambda: committee_review.fn(round_id, clock, chair,
                                                           wait_for_chair, actor),
        Step(registry.SELECTION_NOTICE.name): lambda: selection_notice.fn(round_id, clock, actor),
        Step(registry.CERTIFICATE_ISSUANCE.name):
            lambda: certificate_issuance.fn(round_id, clock, actor),
        Step(registry.MALL_LISTING_SUPPORT.name):
            lambda: mall_listing_support.fn(round_id, clock, actor),
    }
    result = RoundReport(round_id=round_id, state=first.round_state, steps=[first])
    try:
        await _run_steps(result, runs, until)
    finally:  # a final delivery phase: what the steps owe, also when one of them failed
        delivered, result.delivery_run = await deliver(round_id)
    if delivered is not None:
        attribute(delivered, result.steps)
    result.state = result.steps[-1].round_state
    artifacts.publish_round(round_id)
    return result


async def _run_steps(result: RoundReport, runs: dict[Step, Callable[[], Awaitable[StepOutcome]]],
                     until: Step | None) -> None:
    """The steps in order, until one waits or `until` is done."""
    for step in [Step(registry.OPEN_CALL.name), *runs]:
        if step is not Step(registry.OPEN_CALL.name):
            result.steps.append(await runs[step]())
        last = result.steps[-1]
        if last.waiting_for or step is until:
            result.stopped_at, result.waiting_for = step, last.waiting_for
            return
