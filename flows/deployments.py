"""The deployments `sangsaeng serve` registers (and `prefect.yaml` describes for a work pool).

Every step of the round is its own deployment, so the office can run or re-run any step from
the Prefect UI. Names are Korean with the flow's name beside them (`회차 실행 (round)`) and
stable: Prefect upserts a deployment by flow and name, so starting `serve` again updates them
instead of adding copies. Tags group them as the office filters: 회차 (whole rounds), 단계 (the
round's steps), 입력 (the office's inputs), 발송 (notices), 사후관리 (after the selection), and
마감 / 승인 / 예약 (runs at a deadline, waiting for a person, on a schedule).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.registry import DEPLOYMENT_NAMES, ENTRIES, KST, LEGACY_DEPLOYMENT, Entry
from flows.round_choice import current_choices, with_choices, without_rule_ids
from flows.round_runs import remove_legacy_deployments


@dataclass(frozen=True)
class Spec:
    """One deployment: the flow, its bilingual description, tags and schedules."""

    flow: Flow[Any, Any]
    description: str
    tags: tuple[str, ...]
    schedules: tuple[Any, ...] = field(default=())


def flow_of(entry: Entry) -> Flow[Any, Any]:
    """The flow an entry deploys (its entrypoint; the flow's own name is the entry's)."""
    flow: Flow[Any, Any] = entry.load()
    assert flow.name == entry.name, entry
    return flow


def specs() -> list[Spec]:
    """The round flow, every step flow and the recurring flows (flows/registry.py)."""
    return [Spec(flow_of(e), without_rule_ids(e.description), e.tags,
                 (Cron(e.cron, timezone=KST),) if e.cron else ()) for e in ENTRIES]


def deployments() -> list[RunnerDeployment]:
    """The deployments as `serve` takes them (stable names: flows/registry.py)."""
    out: list[RunnerDeployment] = []
    choices = current_choices()  # the rounds and tracks the forms offer (flows/round_choice.py)
    for spec in specs():
        deployment = spec.flow.to_deployment(
            name=DEPLOYMENT_NAMES[spec.flow.name], description=spec.description,
            tags=["sangsaeng", *spec.tags],
            schedules=list(spec.schedules) or None)
        assert isinstance(deployment, RunnerDeployment)  # sync call: not a coroutine
        out.append(with_choices(deployment, choices))
    return out


def serve_deployments(limit: int | None = None, poll_seconds: float = 5) -> None:
    """Register the deployments and run their flow runs until interrupted (Ctrl-C); first
    remove those still named as before issue 15 (the list would show every flow twice)."""
    removed = asyncio.run(remove_legacy_deployments())
    if removed:
        print(f"removed {len(removed)} deployments under their old name "  # noqa: T201
              f"'{LEGACY_DEPLOYMENT}': {', '.join(removed)}", flush=True)
    serve(*deployments(), limit=limit, query_seconds=poll_seconds)
