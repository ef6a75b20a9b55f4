"""A served round's runs at its deadlines, and the hand-over from one step to the next.

Only under a deployment (the Prefect UI, `sangsaeng serve`): CLI replays with `--now` run every
step in-process and never schedule anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType
from prefect.context import FlowRunContext
from prefect.states import Scheduled

from sangsaeng.domain.clock import KST

# Stable deployment names: `serve` upserts by (flow, name), so a restart creates no duplicate.
DEPLOYMENT = "sangsaeng"

# After a step, the round's state says which step comes next (chained runs only).
NEXT_STEP = {"closed": "screening", "screening": "committee_review",
             "decided": "selection_notice"}


def deployment_name(flow_name: str) -> str:
    """`flow/deployment` as `run_deployment` and `read_deployment_by_name` take it."""
    return f"{flow_name}/{DEPLOYMENT}"


def is_served() -> bool:
    """True inside a flow run that a deployment started (the UI, a schedule, the API)."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


@dataclass(frozen=True)
class DeadlineRun:
    """One run a round owes at a deadline."""

    what: str  # "close" (T2) or "supplement" (S1)
    flow_name: str
    at: datetime
    round_id: str

    @property
    def tag(self) -> str:
        """Tags find a round's runs again: `round:<id>` plus `deadline:<what>`."""
        return f"deadline:{self.what}"

    @property
    def idempotency_key(self) -> str:
        """Created once per round and time (a moved deadline is a new run)."""
        return f"sangsaeng-round-{self.round_id}-{self.what}-{self.at.timestamp():.0f}"


def deadline_runs(round_id: str, closes_at: datetime, supplement_deadline: datetime
                  ) -> list[DeadlineRun]:
    """T2: close intake at `closes_at`; S1: re-check supplements at their deadline."""
    return [DeadlineRun("close", "close_intake", closes_at, round_id),
            DeadlineRun("supplement", "screening", supplement_deadline, round_id)]


async def ensure_deadline_runs(round_id: str, closes_at: datetime, supplement_deadline: datetime,
                               now: datetime) -> dict[str, str]:
    """Create the round's deadline runs once; delete scheduled ones whose time moved.

    Returns `{what: flow run id}` of the runs that wait. Deadlines already past get no run
    (the round flow runs those steps in-process).
    """
    out: dict[str, str] = {}
    async with get_client() as client:
        for spec in deadline_runs(round_id, closes_at, supplement_deadline):
            deployment = await client.read_deployment_by_name(deployment_name(spec.flow_name))
            waiting = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    tags=FlowRunFilterTags(all_=[f"round:{round_id}", spec.tag]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(
                        any_=[StateType.SCHEDULED]))),
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))
            for run in waiting:
                if run.idempotency_key != spec.idempotency_key:
                    await client.delete_flow_run(run.id)  # the deadline moved (still a draft)
            if spec.at <= now:
                continue
            run = await client.create_flow_run_from_deployment(
                deployment.id, parameters={"round_id": round_id, "chain": True},
                state=Scheduled(scheduled_time=spec.at), idempotency_key=spec.idempotency_key,
                tags=[f"round:{round_id}", spec.tag],
                name=f"{round_id}-{spec.what}-{spec.at.astimezone(KST):%Y%m%d-%H%M}KST")
            out[spec.what] = str(run.id)
    get_run_logger().info("deadline runs of %s: %s", round_id, out)
    return out


async def start_next_step(round_id: str, state: str, **parameters: Any) -> str | None:
    """Start the deployment of the step that follows (once per round and step)."""
    step = NEXT_STEP.get(state)
    if step is None:
        return None
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(deployment_name(step))
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"round_id": round_id, "chain": True, **parameters},
            idempotency_key=f"sangsaeng-round-{round_id}-{step}-chained",
            tags=[f"round:{round_id}", "chained"], name=f"{round_id}-{step}")
    get_run_logger().info("next step of %s: %s (run %s)", round_id, step, run.id)
    return str(run.id)
