"""What every step flow does at its end: deliver the notices it owes and publish the round.

A step never waits for mail (ARCHITECTURE): inside the `round` flow the round delivers and
publishes once at its end; a step run alone delivers in-process, or — when served — starts a
`deliver_notices` run.
"""

from __future__ import annotations

from prefect import get_run_logger
from prefect.context import FlowRunContext

from flows import round_runs
from flows.models import StepOutcome
from flows.registry import NOTICE_STEPS
from tasks import artifacts
from tasks.notices import deliver_notices
from tasks.results import Delivered


def in_round_flow() -> bool:
    """Inside the `round` flow the steps run in-process (`.fn`): it delivers and publishes once,
    at its end (task runs cost: FIELD_NOTES)."""
    context = FlowRunContext.get()
    return context is not None and context.flow is not None and context.flow.name == "round"


def publish(round_id: str) -> None:
    """Each step flow ends by publishing the round's artifacts (the round flow: at its end)."""
    if not in_round_flow():
        artifacts.publish_round(round_id)


async def deliver(round_id: str | None) -> tuple[Delivered | None, str | None]:
    """Send what the round owes: a `deliver_notices` run when served (returns its id), else
    in this process (returns what it did). `None`: what every round owes, in this process
    (the office's inputs and the dues run owe notices of several rounds)."""
    if round_id is not None and round_runs.is_served():
        return None, await round_runs.start_delivery(round_id)
    return deliver_notices(round_id), None


def attribute(delivered: Delivered, outcomes: list[StepOutcome]) -> None:
    """The notices sent, on the step that owed them (ARCHITECTURE: the step's notices)."""
    for outcome in outcomes:
        sent = sum(n for kind, n in delivered.sent_by_kind.items()
                   if NOTICE_STEPS.get(kind.partition(".")[0]) == outcome.step.value)
        outcome.notices = {"sent": sent} if sent else {}
        if delivered.stopped:
            outcome.notices_waiting = delivered.stopped


async def owed(round_id: str, outcome: StepOutcome) -> StepOutcome:
    """A step alone delivers what it owes once its work is done; inside `round`, the round
    delivers at its end."""
    if in_round_flow():
        return outcome
    delivered, run = await deliver(round_id)
    outcome.delivery_run = run
    if delivered is not None:
        attribute(delivered, [outcome])
        if delivered.stopped:
            get_run_logger().warning("notices wait in the outbox: %s", delivered.stopped)
    return outcome
