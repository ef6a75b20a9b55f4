"""The round as flows: open_call → intake → close_intake → screening → committee_review →
selection_notice → certificate_issuance → mall_listing_support (flows/certificates.py,
flows/listing.py). Each step is its own flow (deployable alone) and safe to re-run;
cancel_round ends a round before its selection is released.

A step never waits for mail: its transaction queues the notices it owes, and delivery runs
apart — as a `deliver_notices` run when served, once at the end of the `round` flow, or at
the end of a step run alone in-process.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from prefect import flow, get_run_logger
from pydantic import Field

from flows import registry, round_runs
from flows.models import (
    OFF_FORM,
    Actor,
    CancelOutcome,
    Chain,
    ChairApproval,
    DataPath,
    DeliveryOutcome,
    IntakeOutcome,
    Now,
    OpenCallOutcome,
    ReleaseOutcome,
    ReviewOutcome,
    RoundFile,
    RoundId,
    RoundReport,
    ScreeningOutcome,
    Step,
    StepOutcome,
    WaitForChair,
    described,
    run_clock,
)
from flows.owed import (
    StepRun,
    attribute,
    begin,
    deliver,
    finish,
    run_mode,
    tell_unchanged,
    wait_for_input,
    when_served,
)
from flows.registry import ROUND_STEPS, Entry
from flows.run_names import named_run
from sangsaeng.domain.clock import format_kst
from sangsaeng.domain.states import RoundState
from sangsaeng.errors import ImportRejected, StepError
from sangsaeng.progress import report
from tasks import artifacts, steps
from tasks.results import Imported
from tasks.rounds import round_closes_at

APPROVAL_TIMEOUT_S = 7 * 24 * 3600
# A runner starts scheduled runs up to 10 s early (its prefetch): the closure waits for the minute.
EARLY_START = timedelta(minutes=2)



def _counts(data: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in data.items() if v) or "nothing new"


@flow(name="open_call", flow_run_name=named_run, persist_result=False)
@described
async def open_call(config: RoundFile, now: Now = None, actor: Actor = "prefect"
                    ) -> StepOutcome:
    """Register the round from its configuration file and publish the call (draft → open).

    `config` is a round id (config/rounds/<id>.toml, the UI's choice) or, from the CLI, a path.
    """
    step = registry.OPEN_CALL
    report(step.name, 0, 1)
    at = run_clock(now)
    opened = steps.open_round(config, at, actor)  # R1/R3; dates may move (T2)
    run = await begin(step, opened.round_id)
    report(step.name, 1, 1)
    outcome = OpenCallOutcome(step=step.name, round_id=run.round_id, detail="opened"
                              if opened.opened else "already open", round_state=opened.state)
    if opened.state is RoundState.OPEN:  # T2/S1: the deadline runs, moved with the dates
        outcome.deadline_runs = await when_served(run.mode, lambda: round_runs.ensure_deadline_runs(
            run.round_id, opened.closes_at, opened.supplement_deadline, at), {})
    return await finish(run, outcome)


def _rejected(result: Imported) -> ImportRejected:
    more = result.rejected - len(result.errors)
    lines = [*result.errors,
             *([f"… {more} more rejected row(s), every one listed in {result.errors_file}"]
               if more else [])]
    return ImportRejected(result.rejected, sum(result.added.values()), lines)


@flow(name="intake", flow_run_name=named_run, persist_result=False)
@described
async def intake(round_id: RoundId, data: DataPath = "", now: Now = None,
                 actor: Actor = "prefect") -> StepOutcome:
    """Import the round package idempotently; rejected rows fail the step (good rows kept)."""
    run = await begin(registry.INTAKE, round_id)
    report(run.entry.name, 0, 1)
    result = steps.import_package(round_id, data, run_clock(now), actor)
    report(run.entry.name, 1, 1)
    corrected = sum(result.corrected.values())
    detail = _counts(result.added) + (f"; corrected {corrected}" if corrected else "")
    outcome = IntakeOutcome(step=run.entry.name, round_id=round_id, detail=detail,
                            round_state=result.state, added=result.added,
                            corrected=result.corrected, rejected=result.rejected,
                            source=result.source)
    # the good rows' receipts go out; the step fails for the rest
    await finish(run, outcome, done=not result.rejected)
    if result.rejected:
        raise _rejected(result)
    return outcome


async def _until_deadline(round_id: str) -> None:
    """A deadline run started early by the runner waits for the deadline itself (T2)."""
    early = round_closes_at(round_id) - datetime.now(UTC)
    if timedelta(0) < early <= EARLY_START:
        await asyncio.sleep(early.total_seconds())


@flow(name="close_intake", flow_run_name=named_run, persist_result=False)
@described
async def close_intake(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                       chain: Chain = False) -> StepOutcome:
    """T2: close intake at `closes_at` (scheduled at the deadline; a no-op before it).

    With `chain` (the deadline run), screening starts as soon as intake is closed.
    """
    run = await begin(registry.CLOSE_INTAKE, round_id, chain)
    if chain and now is None:  # served only: a replay's clock is fixed
        await when_served(run.mode, lambda: _until_deadline(round_id), None)
    closed = steps.close_intake(round_id, run_clock(now), actor)
    waiting = ("the deadline (intake is open)"
               if closed.state in (RoundState.DRAFT, RoundState.OPEN) else None)
    return await finish(run, StepOutcome(
        step=run.entry.name, round_id=round_id, detail="closed" if closed.closed
        else closed.state.value, waiting_for=waiting, round_state=closed.state),
        chain=closed.closed)


@flow(name="screening", flow_run_name=named_run, persist_result=False)
@described
async def screening(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                    chain: Chain = False) -> StepOutcome:
    """§4: screen pending applications; supplements are re-checked at their deadline (S1).

    With `chain` (deadline and chained runs), the committee review starts once screening is
    final.
    """
    run = await begin(registry.SCREENING, round_id, chain)
    report(run.entry.name, 0, 1)
    result = steps.screen(round_id, run_clock(now), actor)
    report(run.entry.name, 1, 1)
    waiting = None
    if result.waiting and result.supplement_deadline is not None:
        waiting = (f"supplements of {result.waiting} application(s) until "
                   f"{format_kst(result.supplement_deadline)}")
    return await finish(run, ScreeningOutcome(
        step=run.entry.name, round_id=round_id, detail=_counts(result.moved),
        waiting_for=waiting, moved=result.moved, waiting=result.waiting,
        round_state=result.state), chain=not waiting)


# Given by the CLI and the `round` run; on the forms the chair approves in the run's dialog.
ChairInput = Annotated[ChairApproval | None, Field(description=(
    "위원장 승인 (비우면 UI에서 입력) / the chair's approval; empty = asked in the UI"),
    json_schema_extra={OFF_FORM: True})]


@flow(name="committee_review", flow_run_name=named_run, persist_result=False)
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
    # tagged: cancel_round finds the chair's suspended run
    run = await begin(registry.COMMITTEE_REVIEW, round_id, chain)
    report(run.entry.name, 0, 1)
    proposed = steps.propose(round_id, run_clock(now), actor)
    report(run.entry.name, 1, 1)
    outcome = await finish(run, ReviewOutcome(  # reviewers' assignments go out now
        step=run.entry.name, round_id=round_id, detail=_counts(proposed.proposed),
        round_state=proposed.state, proposed=proposed.proposed,
        excluded=list(proposed.excluded), excluded_count=proposed.excluded_count), done=False)
    if proposed.state is not RoundState.REVIEW:  # approved earlier: the decision is frozen
        if approval is not None and (approval.exclude or approval.include):
            raise StepError(f"round {round_id} is {proposed.state}: the chair's changes apply "
                            "only while the round awaits approval (state review)")
        return outcome
    if approval is None and wait_for_chair:
        approval = await _wait_for_chair(run)
    if approval is None:
        outcome.waiting_for = "the chair's approval (rerun with --approve)"
        return outcome
    decided = steps.decide(
        round_id, approval.approve, [(a.receipt_no, a.reason) for a in approval.exclude],
        [(a.receipt_no, a.reason) for a in approval.include], approval.reason, run_clock(now),
        f"chair:{approval.approved_by}")
    outcome.round_state = decided.state
    if not decided.approved:  # V10: refused (audited); nothing is decided or released
        outcome.waiting_for = ("a new decision of the chair: the proposal was not approved "
                               "(run committee_review again)")
        return outcome
    return await finish(run, outcome)


async def _wait_for_chair(run: StepRun) -> ChairApproval:
    """V10: the chair's typed input, the proposed selection shown in the form — suspended
    under a deployment, paused in-process (after the reviewers' assignments went out)."""
    round_id = run.round_id
    artifacts.publish_round(round_id)  # the whole proposal, as the selection artifact
    proposal = artifacts.proposed_selection_brief(round_id)
    form = ChairApproval.for_proposal(proposal.proposed, proposal.reserves,
                                      proposal.listing).with_initial_data(
        description=proposal.brief)
    key = f"chair-approval-{round_id}"
    approval: ChairApproval = await wait_for_input(
        run.mode, form, key, APPROVAL_TIMEOUT_S, round_id, waiting=(
            f"{round_id} 위원장 승인을 기다립니다: 선정 {len(proposal.proposed)}건 · 예비 "
            f"{len(proposal.reserves)}건 제안. Prefect UI의 이 실행에서 Resume을 눌러 선정안을 "
            "승인(또는 거부)하세요"))
    return approval


@flow(name="selection_notice", flow_run_name=named_run, persist_result=False)
@described
async def selection_notice(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                           chain: Chain = False) -> StepOutcome:
    """V10: release the approved decisions (decided → notified) and owe the notices.

    With `chain`, the certificate issuance follows (for leads whose production is confirmed).
    """
    run = await begin(registry.SELECTION_NOTICE, round_id, chain)
    released = steps.release(round_id, run_clock(now), actor)
    return await finish(run, ReleaseOutcome(
        step=run.entry.name, round_id=round_id,
        detail=_counts(released.released) if released.released else "already released",
        released=released.released, round_state=released.state))


@flow(name="cancel_round", flow_run_name=named_run, persist_result=False)
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
    run = await begin(registry.CANCEL_ROUND, round_id)
    done = steps.cancel_round(round_id, reason, datetime.now(UTC), actor)
    outcome = CancelOutcome(round_id=round_id, cancelled_at=done.at, reason=done.reason,
                            actor=done.actor, already=not done.cancelled)
    # the runs wait on the server (CLI runs schedule none)
    runs = await when_served(run.mode, lambda: round_runs.cancel_waiting_runs(
        round_id, done.reason), None)
    if runs is not None:
        outcome.runs_cancelled, outcome.runs_refused = runs["cancelled"], runs["refused"]
        if runs["refused"]:
            get_run_logger().warning("%s 취소하지 못한 실행 %d개: %s", round_id,
                                     len(runs["refused"]), ", ".join(runs["refused"]))
    artifacts.publish_round(round_id)  # the status shows the round as cancelled
    return outcome


@flow(name="round", flow_run_name=named_run, persist_result=False)
@described
async def round_flow(
    config: RoundFile, data: DataPath = "", now: Now = None,
    approve: Annotated[bool, Field(description=(
        "위원장 승인을 함께 제출 / give the chair's approval (V10) with the run"))] = False,
    until: Annotated[Step | None, Field(description="이 단계 후 멈춤 / stop after this step",
                                        json_schema_extra={OFF_FORM: True})] = None,
    wait_for_chair: WaitForChair = False, actor: Actor = "prefect", approval: ChairInput = None,
) -> RoundReport:
    """Run one round end to end; stops at `until`, or where the round must wait.

    `approval` is the chair's whole input (exclusions and inclusions, V10); `approve` alone
    approves the proposal as it stands. Every notice the steps owe is delivered at the end.
    """
    # The steps run inside this flow run (`.fn`): each is also a flow of its own for the UI,
    # but on Prefect's SQLite a nested flow run's creation often meets "database is locked",
    # a 503 and a ~2 s client retry (measured with 3.9.1; bench/README.md).
    given = {"config": config, "data": data, "now": run_clock(now), "actor": actor,
             "approval": approval or (ChairApproval(approve=True, approved_by=actor)
                                      if approve else None),
             "wait_for_chair": wait_for_chair}
    first = await _run_step(ROUND_STEPS[0], given)
    given["round_id"] = first.round_id
    result = RoundReport(round_id=first.round_id, state=first.round_state, steps=[first])
    try:
        await _run_steps(result, given, until)
        tell_unchanged(first.round_id)  # a round run again over finished steps says so
    finally:  # a final delivery phase: what the steps owe, also when one of them failed
        delivered, result.delivery_run = await deliver(first.round_id, run_mode())
    if delivered is not None:
        attribute(delivered, result.steps)
        get_run_logger().info(DeliveryOutcome(round_id=first.round_id,
                                              **asdict(delivered)).story())
    result.state = result.steps[-1].round_state
    artifacts.publish_round(first.round_id)
    return result


async def _run_step(entry: Entry, given: dict[str, Any]) -> StepOutcome:
    """One step of the registry, in this run (`.fn`), given by keyword what it takes."""
    step = entry.load()
    taken = inspect.signature(step.fn).parameters
    outcome: StepOutcome = await step.fn(**{k: v for k, v in given.items() if k in taken})
    return outcome


async def _run_steps(result: RoundReport, given: dict[str, Any], until: Step | None) -> None:
    """The registry's steps in order (the first one done), until one waits or `until` is."""
    for entry in ROUND_STEPS:
        if entry is not ROUND_STEPS[0]:
            result.steps.append(await _run_step(entry, given))
        last = result.steps[-1]
        if last.waiting_for or last.step is until:
            result.stopped_at, result.waiting_for = last.step, last.waiting_for
            return
