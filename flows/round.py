"""The round as flows: open_call → intake → close_intake → screening → committee_review →
selection_notice. Each step is its own flow (deployable alone) and safe to re-run."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.flow_runs import apause_flow_run

from flows.models import ChairApproval, RoundReport, Step, StepOutcome
from sangsaeng.domain.clock import format_kst
from sangsaeng.errors import ImportRejected
from sangsaeng.progress import report
from tasks import steps

APPROVAL_TIMEOUT_S = 7 * 24 * 3600


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _counts(data: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in data.items() if v) or "nothing new"


async def _notify(round_id: str, outcome: StepOutcome) -> StepOutcome:
    """Every step ends by sending what it owes (the outbox keeps what cannot go now)."""
    sent = steps.deliver_notices(round_id)
    outcome.notices = {k: v for k, v in sent.items() if k != "stopped" and v}
    if sent["stopped"]:
        get_run_logger().warning("notices wait in the outbox: %s", sent["stopped"])
        outcome.notices_waiting = str(sent["stopped"])
    return outcome


@flow(name="open_call", persist_result=False)
async def open_call(config: str, now: datetime | None = None, actor: str = "prefect"
                    ) -> StepOutcome:
    """Register the round from its configuration file and publish the call (draft → open)."""
    report("open_call", 0, 1)
    round_id = steps.register_round(config, _now(now), actor)
    opened = steps.open_round(round_id, _now(now), actor)
    report("open_call", 1, 1)
    return await _notify(round_id, StepOutcome(
        step=Step.OPEN_CALL, detail="opened" if opened else "already open",
        data={"round_id": round_id}))


@flow(name="intake", persist_result=False)
async def intake(round_id: str, data: str, now: datetime | None = None, actor: str = "prefect"
                 ) -> StepOutcome:
    """Import the round package idempotently; rejected rows fail the step (good rows kept)."""
    report("intake", 0, 1)
    result = steps.import_package(round_id, data, _now(now), actor)
    report("intake", 1, 1)
    corrected = sum(result["corrected"].values())
    detail = _counts(result["added"]) + (f"; corrected {corrected}" if corrected else "")
    outcome = await _notify(round_id, StepOutcome(step=Step.INTAKE, detail=detail, data=result))
    if result["errors"]:  # the good rows' receipts went out; the step fails for the rest
        raise ImportRejected(len(result["errors"]), sum(result["added"].values()),
                             result["errors"])
    return outcome


@flow(name="close_intake", persist_result=False)
async def close_intake(round_id: str, now: datetime | None = None, actor: str = "prefect"
                       ) -> StepOutcome:
    """T2: close intake at `closes_at` (scheduled at the deadline; a no-op before it)."""
    closed = steps.close_intake(round_id, _now(now), actor)
    state = steps.round_state(round_id)
    waiting = "the deadline (intake is open)" if state in ("draft", "open") else None
    return StepOutcome(step=Step.CLOSE_INTAKE, detail="closed" if closed else state,
                       waiting_for=waiting)


@flow(name="screening", persist_result=False)
async def screening(round_id: str, now: datetime | None = None, actor: str = "prefect"
                    ) -> StepOutcome:
    """§4: screen pending applications; supplements are re-checked at their deadline (S1)."""
    report("screening", 0, 1)
    result = steps.screen(round_id, _now(now), actor)
    report("screening", 1, 1)
    waiting = None
    if result["waiting"]:
        waiting = (f"supplements of {result['waiting']} application(s) until "
                   f"{format_kst(result['supplement_deadline'])}")
    return await _notify(round_id, StepOutcome(
        step=Step.SCREENING, detail=_counts(result["moved"]), waiting_for=waiting,
        data={"moved": result["moved"], "waiting": result["waiting"]}))


@flow(name="committee_review", persist_result=False)
async def committee_review(
    round_id: str, now: datetime | None = None, approval: ChairApproval | None = None,
    wait_for_chair: bool = True, actor: str = "prefect",
) -> StepOutcome:
    """§5: record the committee's pending decision, then take the chair's approval (V10).

    Without `approval`, the run pauses for the chair's input in the Prefect UI
    (or stops, with `wait_for_chair=False`, so that a later run can bring it).
    """
    report("committee_review", 0, 1)
    result = steps.propose(round_id, _now(now), actor)
    report("committee_review", 1, 1)
    outcome = StepOutcome(step=Step.COMMITTEE_REVIEW, detail=_counts(result["proposed"]),
                          data=result)
    await _notify(round_id, outcome)  # reviewers' assignments
    if steps.round_state(round_id) != "review":
        return outcome  # approved earlier: the decision is frozen
    if approval is None and wait_for_chair:
        approval = await apause_flow_run(wait_for_input=ChairApproval.with_initial_data(
            approve=False), timeout=APPROVAL_TIMEOUT_S, poll_interval=2,
            key=f"chair-approval-{round_id}")
    if approval is None:
        outcome.waiting_for = "the chair's approval (rerun with --approve)"
        return outcome
    decision = approval.model_dump(include={"approve", "exclude", "include"})
    steps.approve(round_id, decision, _now(now), f"chair:{approval.approved_by}")
    return outcome


@flow(name="selection_notice", persist_result=False)
async def selection_notice(round_id: str, now: datetime | None = None, actor: str = "prefect"
                           ) -> StepOutcome:
    """V10: release the approved decisions (decided → notified) and owe the notices."""
    counts = steps.release(round_id, _now(now), actor)
    return await _notify(round_id, StepOutcome(
        step=Step.SELECTION_NOTICE, detail=_counts(counts) if counts else "already released",
        data={"released": counts}))


@flow(name="round", persist_result=False)
async def round_flow(
    config: str, data: str, now: datetime | None = None, approve: bool = False,
    until: Step | None = None, wait_for_chair: bool = False, actor: str = "prefect",
) -> RoundReport:
    """Run one round end to end; stops at `until`, or where the round must wait."""
    # The steps run inside this flow run (`.fn`): each is also a flow of its own for the UI,
    # but on Prefect's SQLite a nested flow run's creation often meets "database is locked",
    # a 503 and a ~2 s client retry (measured with 3.9.1; bench/README.md).
    clock = _now(now)
    first = await open_call.fn(config, clock, actor)
    round_id = str(first.data["round_id"])
    approval = ChairApproval(approve=True, approved_by=actor) if approve else None
    runs = {
        Step.INTAKE: lambda: intake.fn(round_id, data, clock, actor),
        Step.CLOSE_INTAKE: lambda: close_intake.fn(round_id, clock, actor),
        Step.SCREENING: lambda: screening.fn(round_id, clock, actor),
        Step.COMMITTEE_REVIEW: lambda: committee_review.fn(round_id, clock, approval,
                                                           wait_for_chair, actor),
        Step.SELECTION_NOTICE: lambda: selection_notice.fn(round_id, clock, actor),
    }
    report_ = RoundReport(round_id=round_id, state="", steps=[first])
    for step in [first.step, *runs]:
        if step is not Step.OPEN_CALL:
            report_.steps.append(await runs[step]())
        last = report_.steps[-1]
        if last.waiting_for or step is until:
            report_.stopped_at, report_.waiting_for = step, last.waiting_for
            break
    report_.state = steps.round_state(round_id)
    return report_
