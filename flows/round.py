"""The round as flows: open_call → intake → close_intake → screening → committee_review →
selection_notice. Each step is its own flow (deployable alone) and safe to re-run;
cancel_round ends a round before its selection is released."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from pydantic import Field

from flows import schedules
from flows.models import CancelOutcome, ChairApproval, RoundReport, Step, StepOutcome
from sangsaeng.domain.clock import format_kst
from sangsaeng.errors import ImportRejected
from sangsaeng.progress import report
from tasks import artifacts, steps
from tasks.deadlines import round_deadlines

APPROVAL_TIMEOUT_S = 7 * 24 * 3600
# A runner starts scheduled runs up to 10 s early (its prefetch): the closure waits for the minute.
EARLY_START = timedelta(minutes=2)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _counts(data: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in data.items() if v) or "nothing new"


def _publish(round_id: str) -> None:
    """Each step flow ends by publishing the round's artifacts; inside the `round` flow the
    steps run in-process and the round publishes once, at its end (task runs cost: FIELD_NOTES)."""
    context = FlowRunContext.get()
    if context is not None and context.flow is not None and context.flow.name != "round":
        artifacts.publish_round(round_id)


async def _chain(round_id: str, chain: bool, state: str | None) -> None:
    """With `chain` (deadline and chained runs), start the deployment of the next step."""
    if chain and state is not None and schedules.is_served():
        await schedules.start_next_step(round_id, state)


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
    """Register the round from its configuration file and publish the call (draft → open).

    Args:
        config: 회차 설정 파일 (TOML) 경로 / path of the round configuration (TOML)
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
        actor: 감사 기록에 남을 실행자 / who runs it (audit trail)
    """
    report("open_call", 0, 1)
    round_id = steps.register_round(config, _now(now), actor)  # R3; dates may move (T2)
    await schedules.tag_own_run(round_id)
    opened = steps.open_round(round_id, _now(now), actor)
    report("open_call", 1, 1)
    outcome = await _notify(round_id, StepOutcome(
        step=Step.OPEN_CALL, detail="opened" if opened else "already open",
        data={"round_id": round_id}))
    if schedules.is_served():  # T2/S1: the deadline runs, moved with the dates (never in replays)
        dates = round_deadlines(round_id)
        if dates["state"] == "open":
            outcome.data["deadline_runs"] = await schedules.ensure_deadline_runs(
                round_id, dates["closes_at"], dates["supplement_deadline"], _now(now))
    _publish(round_id)
    return outcome


@flow(name="intake", persist_result=False)
async def intake(round_id: str, data: str, now: datetime | None = None, actor: str = "prefect"
                 ) -> StepOutcome:
    """Import the round package idempotently; rejected rows fail the step (good rows kept).

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
        data: 접수 자료 (CSV 폴더 또는 .xlsx) 경로 / round package: CSV folder or one .xlsx
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
        actor: 감사 기록에 남을 실행자 / who runs it (audit trail)
    """
    await schedules.tag_own_run(round_id)
    report("intake", 0, 1)
    result = steps.import_package(round_id, data, _now(now), actor)
    report("intake", 1, 1)
    corrected = sum(result["corrected"].values())
    detail = _counts(result["added"]) + (f"; corrected {corrected}" if corrected else "")
    outcome = await _notify(round_id, StepOutcome(step=Step.INTAKE, detail=detail, data=result))
    if result["errors"]:  # the good rows' receipts went out; the step fails for the rest
        raise ImportRejected(len(result["errors"]), sum(result["added"].values()),
                             result["errors"])
    _publish(round_id)
    return outcome


async def _until_deadline(round_id: str, now: datetime | None) -> None:
    """A deadline run started early by the runner waits for the deadline itself (T2)."""
    if now is not None or not schedules.is_served():
        return
    closes_at = round_deadlines(round_id)["closes_at"]
    early = closes_at - datetime.now(UTC)
    if timedelta(0) < early <= EARLY_START:
        await asyncio.sleep(early.total_seconds())


@flow(name="close_intake", persist_result=False)
async def close_intake(round_id: str, now: datetime | None = None, actor: str = "prefect",
                       chain: bool = False) -> StepOutcome:
    """T2: close intake at `closes_at` (scheduled at the deadline; a no-op before it).

    With `chain` (the deadline run), screening starts as soon as intake is closed.

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
        actor: 감사 기록에 남을 실행자 / who runs it (audit trail)
        chain: 다음 단계 자동 시작 / start the next step's deployment when this one is done
    """
    await schedules.tag_own_run(round_id)
    if chain:
        await _until_deadline(round_id, now)
    closed = steps.close_intake(round_id, _now(now), actor)
    state = steps.round_state(round_id)
    waiting = "the deadline (intake is open)" if state in ("draft", "open") else None
    _publish(round_id)
    await _chain(round_id, chain and closed, state)
    return StepOutcome(step=Step.CLOSE_INTAKE, detail="closed" if closed else state,
                       waiting_for=waiting)


@flow(name="screening", persist_result=False)
async def screening(round_id: str, now: datetime | None = None, actor: str = "prefect",
                    chain: bool = False) -> StepOutcome:
    """§4: screen pending applications; supplements are re-checked at their deadline (S1).

    With `chain` (deadline and chained runs), the committee review starts once screening is
    final.

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
        actor: 감사 기록에 남을 실행자 / who runs it (audit trail)
        chain: 다음 단계 자동 시작 / start the next step's deployment when this one is done
    """
    await schedules.tag_own_run(round_id)
    report("screening", 0, 1)
    result = steps.screen(round_id, _now(now), actor)
    report("screening", 1, 1)
    waiting = None
    if result["waiting"]:
        waiting = (f"supplements of {result['waiting']} application(s) until "
                   f"{format_kst(result['supplement_deadline'])}")
    outcome = await _notify(round_id, StepOutcome(
        step=Step.SCREENING, detail=_counts(result["moved"]), waiting_for=waiting,
        data={"moved": result["moved"], "waiting": result["waiting"]}))
    _publish(round_id)
    await _chain(round_id, chain and not waiting, steps.round_state(round_id) if chain else None)
    return outcome


@flow(name="committee_review", persist_result=False)
async def committee_review(
    round_id: str, now: datetime | None = None, approval: ChairApproval | None = None,
    wait_for_chair: bool = True, actor: str = "prefect", chain: bool = False,
) -> StepOutcome:
    """§5: record the committee's pending decision, then take the chair's approval (V10).

    Without `approval`, the run shows the proposed selection (artifact `round-<id>-selection`)
    and waits for the chair's input in the Prefect UI: suspended when a deployment started it
    (the worker is freed; the run starts again on resume), paused in-process otherwise
    (or stops, with `wait_for_chair=False`, so that a later run can bring it).
    With `chain`, the selection notice starts once the chair has approved. A refusal
    (`approve` off) decides and releases nothing: it is audited, the round stays in review and
    the run ends waiting for a new decision (run committee_review again).

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
        approval: 위원장 승인 (비우면 UI에서 입력) / the chair's approval; empty = asked in the UI
        wait_for_chair: 승인 입력을 UI에서 기다림 / wait in the UI for the chair's input
        actor: 감사 기록에 남을 실행자 / who runs it (audit trail)
        chain: 다음 단계 자동 시작 / start the next step's deployment when this one is done
    """
    await schedules.tag_own_run(round_id)  # cancel_round finds the chair's suspended run
    report("committee_review", 0, 1)
    result = steps.propose(round_id, _now(now), actor)
    report("committee_review", 1, 1)
    outcome = StepOutcome(step=Step.COMMITTEE_REVIEW, detail=_counts(result["proposed"]),
                          data=result)
    await _notify(round_id, outcome)  # reviewers' assignments
    if steps.round_state(round_id) != "review":
        return outcome  # approved earlier: the decision is frozen
    if approval is None and wait_for_chair:
        artifacts.publish_round(round_id)  # the chair sees the proposal before deciding
        approval = await _wait_for_chair(round_id)
    if approval is None:
        outcome.waiting_for = "the chair's approval (rerun with --approve)"
        return outcome
    decision = approval.model_dump(include={"approve", "exclude", "include", "reason"})
    steps.approve(round_id, decision, _now(now), f"chair:{approval.approved_by}")
    if not approval.approve:  # V10: refused (audited); nothing is decided or released
        outcome.waiting_for = ("a new decision of the chair: the proposal was not approved "
                               "(run committee_review again)")
        return outcome
    _publish(round_id)
    await _chain(round_id, chain, steps.round_state(round_id) if chain else None)
    return outcome


async def _wait_for_chair(round_id: str) -> ChairApproval:
    """V10: the chair's typed input — suspended under a deployment, paused in-process."""
    form = ChairApproval.with_initial_data(approve=False)
    key = f"chair-approval-{round_id}"
    if schedules.is_served():  # may take days: free the worker; the run re-enters on resume
        return await asuspend_flow_run(wait_for_input=form, key=key)
    return await apause_flow_run(wait_for_input=form, timeout=APPROVAL_TIMEOUT_S,
                                 poll_interval=2, key=key)


@flow(name="selection_notice", persist_result=False)
async def selection_notice(round_id: str, now: datetime | None = None, actor: str = "prefect",
                           chain: bool = False) -> StepOutcome:
    """V10: release the approved decisions (decided → notified) and owe the notices.

    `chain` is accepted like every step's; nothing follows it yet (certificates come later).

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
        actor: 감사 기록에 남을 실행자 / who runs it (audit trail)
        chain: 다음 단계 자동 시작 / start the next step's deployment when this one is done
    """
    await schedules.tag_own_run(round_id)
    counts = steps.release(round_id, _now(now), actor)
    outcome = await _notify(round_id, StepOutcome(
        step=Step.SELECTION_NOTICE, detail=_counts(counts) if counts else "already released",
        data={"released": counts}))
    _publish(round_id)
    return outcome


@flow(name="cancel_round", persist_result=False)
async def cancel_round(
    round_id: str, reason: Annotated[str, Field(min_length=1)], actor: str = "prefect",
) -> CancelOutcome:
    """Cancel the round (the office withdraws the call) and every run of it that still waits.

    Allowed until the selection is released (draft … decided); afterwards only K5's
    per-project cancellation remains. Every step refuses a cancelled round, and its
    configuration file does not bring it back. Under a deployment, the round's scheduled,
    pending and paused runs (deadline runs, the chair's suspended review) are cancelled.

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
        reason: 취소 사유 (필수, 감사 기록) / why the round is cancelled (required, audited)
        actor: 감사 기록에 남을 실행자 / who runs it (audit trail)
    """
    await schedules.tag_own_run(round_id)
    done = steps.cancel_round(round_id, reason, datetime.now(UTC), actor)
    outcome = CancelOutcome(round_id=round_id, cancelled_at=done["at"], reason=done["reason"],
                            actor=done["actor"], already=not done["cancelled"])
    if schedules.is_served():  # the runs wait on the server (CLI runs schedule none)
        runs = await schedules.cancel_waiting_runs(round_id, done["reason"])
        outcome.runs_cancelled, outcome.runs_refused = runs["cancelled"], runs["refused"]
        if runs["refused"]:
            get_run_logger().warning("runs of %s not cancelled: %s", round_id, runs["refused"])
    artifacts.publish_round(round_id)  # the status shows the round as cancelled
    return outcome


@flow(name="round", persist_result=False)
async def round_flow(
    config: str, data: str, now: datetime | None = None, approve: bool = False,
    until: Step | None = None, wait_for_chair: bool = False, actor: str = "prefect",
) -> RoundReport:
    """Run one round end to end; stops at `until`, or where the round must wait.

    Args:
        config: 회차 설정 파일 (TOML) 경로 / path of the round configuration (TOML)
        data: 접수 자료 (CSV 폴더 또는 .xlsx) 경로 / round package: CSV folder or one .xlsx
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
        approve: 위원장 승인을 함께 제출 / give the chair's approval (V10) with the run
        until: 이 단계 후 멈춤 / stop after this step
        wait_for_chair: 승인 입력을 UI에서 기다림 / wait in the UI for the chair's input
        actor: 감사 기록에 남을 실행자 / who runs it (audit trail)
    """
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
    artifacts.publish_round(round_id)
    return report_
