"""How a step runs, decided once at its entry, and the one path that finishes every step.

A step runs inside a `round` run (its steps run in-process, `.fn`: the round delivers and
publishes once, at its end), as a served deployment's run (delivery, the next step and reviews
start as runs of their own), or alone in-process (the CLI, a test: everything here, nothing
scheduled). `run_mode()` asks Prefect's run context once; the answer travels in `StepRun`.
A step never waits for mail (ARCHITECTURE): it queues what it owes and `finish` delivers it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.context import FlowRunContext
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.input.actions import aread_flow_run_input
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Suspended

from flows import registry, round_runs
from flows.models import StepOutcome
from flows.registry import NOTICE_STEPS, Entry
from tasks import artifacts
from tasks.notices import deliver_notices
from tasks.results import Delivered

Outcome = TypeVar("Outcome", bound=StepOutcome)
T = TypeVar("T")


class RunMode(Enum):
    """Where a flow runs: (under a deployment, inside a `round` run)."""

    ALONE = (False, False)  # in-process, alone: delivers here, schedules nothing
    SERVED = (True, False)  # a deployment's run: delivery and next steps are runs of their own
    IN_ROUND = (False, True)  # a step of an in-process `round` run (the CLI's replays)
    IN_SERVED_ROUND = (True, True)  # a step of a `round` run a deployment started

    @property
    def served(self) -> bool:
        """Under a deployment: other runs can be started, the run can be suspended."""
        return self.value[0]

    @property
    def in_round(self) -> bool:
        """Inside the `round` flow: it delivers and publishes once, at its end (task runs
        cost: FIELD_NOTES)."""
        return self.value[1]


def run_mode() -> RunMode:
    """The one place that asks how this flow runs (Prefect's run context)."""
    context = FlowRunContext.get()
    in_round = bool(context and context.flow and context.flow.name == registry.ROUND.name)
    return RunMode((round_runs.is_served(), in_round))


@dataclass
class StepRun:
    """One run of a step: which, for which round, how it runs, whether it chains."""

    entry: Entry
    round_id: str
    mode: RunMode
    chain: bool = False
    delivered: bool = False  # what the step owes was delivered (or its delivery started)


async def begin(entry: Entry, round_id: str, chain: bool = False) -> StepRun:
    """Decide how the step runs; a served run tags itself with its round (cancel_round)."""
    run = StepRun(entry, round_id, run_mode(), chain)
    if run.mode.served:
        await round_runs.tag_own_run(round_id)
    return run


async def finish(run: StepRun, outcome: Outcome, *, done: bool = True,
                 chain: bool = True) -> Outcome:
    """The one path that ends every step: deliver what it owes (alone: here; served: as a
    `deliver_notices` run), then — once `done` — publish the round and, with `chain` (and the
    run's own `chain`, served), start the step that follows the round's new state. Inside a
    `round` run the round delivers and publishes at its end instead."""
    owes = any(step == run.entry.name for step in NOTICE_STEPS.values())
    if owes and not run.delivered and not run.mode.in_round:
        await _deliver_owed(run, outcome)
    if done and isinstance(outcome, StepOutcome) and outcome.what_it_did():
        tell(run, outcome)
    if done and not run.mode.in_round:
        artifacts.publish_round(run.round_id)
    if done and chain and run.chain and run.mode.served:
        await round_runs.start_next_step(run.round_id, outcome.round_state, after=run.entry)
    return outcome


_UNCHANGED: dict[str, list[str]] = {}  # per `round` run: its steps that changed nothing, unsaid


def _run_key() -> str:
    context = FlowRunContext.get()
    return str(context.flow_run.id) if context and context.flow_run else ""


def tell(run: StepRun, outcome: StepOutcome) -> None:
    """What the step did, for the office, in the run's log. Inside a `round` run, a step that
    changed nothing (the round run again, or started again on the chair's Resume) is not told
    as if new: such steps are named in one line (`tell_unchanged`) before what comes next."""
    if run.mode.in_round and not outcome.changed():
        _UNCHANGED.setdefault(_run_key(), []).append(run.entry.title)
        return
    tell_unchanged(run.round_id)
    get_run_logger().info(outcome.story())


def tell_unchanged(round_id: str | None) -> None:
    """The steps of this `round` run that changed nothing so far, in one line (once)."""
    unchanged = _UNCHANGED.pop(_run_key(), None)
    if unchanged:
        get_run_logger().info("%s 이미 끝난 단계 (바뀐 것 없음): %s", round_id,
                              " · ".join(unchanged))


async def _deliver_owed(run: StepRun, outcome: StepOutcome) -> None:
    delivered, outcome.delivery_run = await deliver(run.round_id, run.mode)
    run.delivered = True
    if delivered is not None:
        attribute(delivered, [outcome])
        if delivered.stopped:
            get_run_logger().warning("안내 메일이 발송함에서 기다립니다: %s",
                                     delivered.stopped)


async def when_served(mode: RunMode, action: Callable[[], Awaitable[T]], otherwise: T) -> T:
    """Under a deployment only: `action` schedules, starts or cancels runs on the server; a run
    in-process (a replay, the CLI) schedules nothing and gets `otherwise`."""
    return await action() if mode.served else otherwise


async def wait_for_input(mode: RunMode, form: Any, key: str, timeout_s: int,
                         round_id: str | None = None, waiting: str = "") -> Any:
    """A person's typed input (`form`, a RunInput with its initial data): suspended under a
    deployment (it may take days: the worker is freed; the run starts again on resume),
    paused in-process — inside a `round` run after what the round owes so far went out.

    `waiting` is said in the run's log when it waits; a run started again on resume finds
    the input given and goes on without saying it again (issue 23 item 2)."""
    if mode.served:
        keyset = keyset_from_paused_state(Suspended(pause_key=key))
        if await aread_flow_run_input(keyset["response"]) is not None:
            return await form.aload(keyset)  # resumed: the input was given
        _say_waiting(round_id, waiting)
        return await asuspend_flow_run(wait_for_input=form, key=key)
    _say_waiting(round_id, waiting)
    if mode.in_round:
        await deliver(round_id, mode)
    return await apause_flow_run(wait_for_input=form, timeout=timeout_s, poll_interval=2,
                                 key=key)


def _say_waiting(round_id: str | None, waiting: str) -> None:
    tell_unchanged(round_id)
    if waiting:
        get_run_logger().info(waiting)


def publish(round_id: str) -> None:
    """An input's rounds, published once it is recorded (steps publish through `finish`)."""
    artifacts.publish_round(round_id)


async def deliver(round_id: str | None, mode: RunMode = RunMode.ALONE
                  ) -> tuple[Delivered | None, str | None]:
    """Send what the round owes: a `deliver_notices` run when served (returns its id), else
    in this process (returns what it did). `None`: what every round owes, in this process
    (the office's inputs and the dues run owe notices of several rounds)."""
    if round_id is not None and mode.served:
        return None, await round_runs.start_delivery(round_id)
    return await deliver_notices(round_id), None


def attribute(delivered: Delivered, outcomes: list[StepOutcome]) -> None:
    """The notices sent, on the step that owed them (ARCHITECTURE: the step's notices)."""
    for outcome in outcomes:
        sent = sum(n for kind, n in delivered.sent_by_kind.items()
                   if NOTICE_STEPS.get(kind.partition(".")[0]) == outcome.step.value)
        outcome.notices = {"sent": sent} if sent else {}
        if delivered.stopped:
            outcome.notices_waiting = delivered.stopped
