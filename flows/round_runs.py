"""A served round's runs: at its deadlines, the hand-over from one step to the next, the
delivery of what a step owes, and the cancellation of what still waits when the round is
cancelled.

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
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
from prefect.context import FlowRunContext
from prefect.states import Cancelled, Scheduled

from flows import registry
from flows.registry import DEPLOYMENT_NAMES, LEGACY_DEPLOYMENT, NEXT_STEP
from flows.run_names import run_name
from sangsaeng.dashboard import WaitingInput
from sangsaeng.domain.clock import KST, format_kst
from sangsaeng.domain.states import RoundState

# Runs that have not started their work yet: scheduled (also Late, AwaitingRetry), pending
# (a runner took it), paused (also Suspended: the chair's review waiting for its input).
# Should a pending run's process start anyway, its step refuses: the database says cancelled.
WAITING = (StateType.SCHEDULED, StateType.PENDING, StateType.PAUSED)


def round_tag(round_id: str) -> str:
    """Every run of a round carries this tag: the UI lists them, cancel_round finds them."""
    return f"round:{round_id}"


def deployment_name(flow_name: str) -> str:
    """`flow/deployment` as `run_deployment` and `read_deployment_by_name` take it."""
    return f"{flow_name}/{DEPLOYMENT_NAMES[flow_name]}"


async def remove_legacy_deployments() -> list[str]:
    """Delete the deployments of these flows still named as before issue 15 (`sangsaeng`), so
    that the list shows each once, by its new name. Returns the flows whose one was removed."""
    removed: list[str] = []
    async with get_client() as client:
        for deployment in await client.read_deployments(deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=[LEGACY_DEPLOYMENT]))):
            flow = await client.read_flow(deployment.flow_id)
            if flow.name in DEPLOYMENT_NAMES:
                await client.delete_deployment(deployment.id)
                removed.append(flow.name)
    return sorted(removed)


def is_served() -> bool:
    """True inside a flow run that a deployment started (the UI, a schedule, the API)."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


async def tag_own_run(round_id: str) -> None:
    """A served run of a round's flow tags itself `round:<id>` (its caller knows it is served).

    Deadline and chained runs are created with the tag; a run the office starts by hand from a
    deployment's form has none. Without it, cancel_round could not find, say, the chair's
    suspended review started from the UI.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    run, tag = context.flow_run, round_tag(round_id)
    if tag in run.tags:
        return
    async with get_client() as client:
        await client.update_flow_run(run.id, tags=[*run.tags, tag])
    run.tags.append(tag)


async def cancel_waiting_runs(round_id: str, reason: str) -> dict[str, list[str]]:
    """Cancel every run of the round that still waits (scheduled, pending, paused/suspended).

    Returns `{"cancelled": [run names], "refused": ["name: why"]}`; a run that started
    meanwhile is left to refuse by itself (the round is cancelled in the database first).
    """
    context = FlowRunContext.get()
    own = context.flow_run.id if context and context.flow_run else None
    out: dict[str, list[str]] = {"cancelled": [], "refused": []}
    tried: set[Any] = {own}
    async with get_client() as client:
        while True:  # read again until no untried waiting run is left (cancelled ones drop out)
            runs = [r for r in await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    tags=FlowRunFilterTags(all_=[round_tag(round_id)]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(WAITING)))),
                limit=200) if r.id not in tried]
            if not runs:
                break
            for run in runs:
                tried.add(run.id)
                result: OrchestrationResult[Any] = await client.set_flow_run_state(
                    run.id, Cancelled(message=f"round {round_id} cancelled: {reason}"))
                if result.status is SetStateStatus.ACCEPT:
                    out["cancelled"].append(run.name)
                else:
                    why = getattr(result.details, "reason", None) or result.status.value
                    out["refused"].append(f"{run.name}: {why}")
    get_run_logger().info("%s 기다리던 실행 %d건을 취소했습니다%s", round_id, len(out["cancelled"]),
                          f" (취소되지 않은 실행 {len(out['refused'])}건: 이미 시작됨)"
                          if out["refused"] else "")
    return out


# What a paused run waits for, by its flow (issue 23 item 8); other flows: their Korean title.
_WAITS_FOR = {"committee_review": "위원장 승인", "round": "위원장 승인",
              "review_cancellation": "확인서 취소 검토"}


async def waiting_for_input(ui: str | None) -> list[WaitingInput]:
    """The runs paused or suspended for a person's input, oldest first, each with its page in
    the Prefect UI at `ui` (none without a UI: an in-process run)."""
    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.PAUSED]))), limit=200)
        flows = {i: (await client.read_flow(i)).name for i in {r.flow_id for r in runs}}
    out = []
    for run in sorted(runs, key=lambda r: r.state.timestamp if r.state else datetime.max):
        flow = flows[run.flow_id]
        entry = registry.BY_NAME.get(flow)
        out.append(WaitingInput(
            _WAITS_FOR.get(flow, entry.title if entry else flow), run.name,
            run.state.timestamp if run.state else None,
            f"{ui.rstrip('/')}/runs/flow-run/{run.id}" if ui else None))
    return out


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
    return [DeadlineRun("close", registry.CLOSE_INTAKE.name, closes_at, round_id),
            DeadlineRun("supplement", registry.SCREENING.name, supplement_deadline, round_id)]


async def ensure_deadline_runs(round_id: str, closes_at: datetime, supplement_deadline: datetime,
                               now: datetime) -> dict[str, str]:
    """Create the round's deadline runs once; delete scheduled ones whose time moved.

    Returns `{what: flow run id}` of the runs that wait. Deadlines already past get no run
    (the round flow runs those steps in-process).
    """
    out: dict[str, str] = {}
    planned: list[str] = []  # what the log says: each deadline run and its time, in Korean
    async with get_client() as client:
        for spec in deadline_runs(round_id, closes_at, supplement_deadline):
            deployment = await client.read_deployment_by_name(deployment_name(spec.flow_name))
            waiting = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    tags=FlowRunFilterTags(all_=[round_tag(round_id), spec.tag]),
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
                tags=[round_tag(round_id), spec.tag],
                name=run_name(spec.flow_name, round_id, spec.at))
            out[spec.what] = str(run.id)
            planned.append(f"{registry.BY_NAME[spec.flow_name].title} {format_kst(spec.at)} KST")
    get_run_logger().info("%s 마감 실행을 예약했습니다: %s", round_id, " · ".join(planned)
                          or "없음 (마감이 지났습니다)")
    return out


def _now() -> datetime:
    """When a run is started (its name's time), in KST."""
    return datetime.now(KST)


async def start_next_step(round_id: str, state: RoundState, *, after: registry.Entry,
                          **parameters: Any) -> str | None:
    """Start the deployment of the step that follows `after` in the round's new `state`
    (once per round and step); none when the state names no later step."""
    step = NEXT_STEP.get(state)
    if step is None or registry.step_order(step) <= registry.step_order(after.name):
        return None
    return await start_step(round_id, step, **parameters)


async def start_step(round_id: str, step: str, *, once_per: str = "chained",
                     **parameters: Any) -> str:
    """Start `step`'s deployment for the round, chained; once per `once_per` (the idempotency
    key: the same key finds the run already started)."""
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(deployment_name(step))
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"round_id": round_id, "chain": True, **parameters},
            idempotency_key=f"sangsaeng-round-{round_id}-{step}-{once_per}",
            tags=[round_tag(round_id), "chained"], name=run_name(step, round_id, _now()))
    get_run_logger().info("%s 다음 단계 '%s' 실행을 시작했습니다", round_id,
                          registry.BY_NAME[step].title)
    return str(run.id)


async def start_delivery(round_id: str) -> str:
    """Start a `deliver_notices` run for what this run's step owed (once per step run and
    attempt): the step ends without waiting for mail. A run resumed after its suspension (the
    chair's review inside `round`) is a new attempt: it owes the notices decided since."""
    context = FlowRunContext.get()
    this = context.flow_run if context else None
    # the attempt: its Running state (run_count does not change when a suspended run resumes)
    own = f"{this.id}-{this.state.id if this.state else this.run_count}" if this else "none"
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(
            deployment_name(registry.DELIVER_NOTICES.name))
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"round_id": round_id},
            idempotency_key=f"sangsaeng-deliver-{round_id}-{own}",
            # not `round:<id>`: a delivery is no step of the round (cancel_round withholds the
            # round's notices in the outbox; the run then finds nothing to send)
            tags=["notices", f"notices:{round_id}"],
            name=run_name(registry.DELIVER_NOTICES.name, round_id, _now()))
    get_run_logger().info("%s 안내 메일은 '%s' 실행이 보냅니다", round_id,
                          registry.DELIVER_NOTICES.title)
    return str(run.id)


async def start_review(receipt_no: str) -> str:
    """M3: start a `review_cancellation` run for a failed evaluation's proposed cancellation
    (once per proposing run and receipt); it waits, suspended, for the office's decision."""
    context = FlowRunContext.get()
    own = context.flow_run.id if context and context.flow_run else "none"
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(
            deployment_name(registry.REVIEW_CANCELLATION.name))
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"receipt_no": receipt_no},
            idempotency_key=f"sangsaeng-review-cancellation-{receipt_no}-{own}",
            tags=["human", "input"],
            name=run_name(registry.REVIEW_CANCELLATION.name, receipt_no, _now()))
    get_run_logger().info("%s 선정 취소 여부를 '%s' 실행에서 결정하십시오", receipt_no,
                          registry.REVIEW_CANCELLATION.title)
    return str(run.id)
