"""The office's side of a Prefect server with a work pool (docs/deploy.md; `make scale-demo`):
start a deployment's run, follow it, give the chair's input to a suspended run, see the
workers. Synchronous wrappers over Prefect's client for the CLI and the benchmark."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.flow_runs import aresume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.round_runs import deployment_name, round_tag
from sangsaeng.errors import SangsaengError

T = TypeVar("T")


class RunError(SangsaengError):
    """A run did not end as it should (or not in time)."""


class PrefectApi:
    """Calls to the server at `api_url`, each in its own event loop (for synchronous code)."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url

    def call(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """`await fn(client)` against the server."""
        async def go() -> T:
            async with get_client() as client:
                return await fn(client)

        with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
            return asyncio.run(go())

    def deployments(self) -> list[Any]:
        """Every deployment on the server."""
        return list(self.call(lambda c: c.read_deployments()))

    def online_workers(self, pool: str) -> list[str]:
        """The names of the pool's workers the server sees online (by their heartbeats)."""
        workers = self.call(lambda c: c.read_workers_for_work_pool(pool))
        return sorted(w.name for w in workers if str(w.status.value).upper() == "ONLINE")

    def start(self, flow_name: str, parameters: dict[str, Any], name: str | None = None,
              tags: list[str] | None = None) -> Any:
        """Create a run of `flow_name`'s deployment, as the UI's run form does."""
        async def go(client: Any) -> Any:
            deployment = await client.read_deployment_by_name(deployment_name(flow_name))
            return await client.create_flow_run_from_deployment(
                deployment.id, parameters=parameters, name=name, tags=tags or [])

        return self.call(go)

    def follow(self, run_id: Any, chair_input: dict[str, Any] | None, timeout: float,
               say: Callable[[str], None] = lambda _: None) -> tuple[Any, int]:
        """Wait for the run to end; each time it waits paused or suspended (the chair's review,
        V10), resume it with `chair_input` as the UI's form does (none: fail). Returns the
        final run and how many inputs were given."""
        async def go(client: Any) -> tuple[Any, int]:
            seen, given = "", 0
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                run = await client.read_flow_run(run_id)
                state = run.state.name if run.state else "?"
                if state != seen:
                    say(f"  run {run.name}: {state}")
                    seen = state
                if run.state and run.state.is_paused():
                    if chair_input is None:
                        raise RunError(f"run {run.name} waits for an input ({state})")
                    await aresume_flow_run(run.id, run_input=chair_input)
                    given += 1
                    say(f"  run {run.name}: the chair's input given "
                        f"(approve={chair_input.get('approve')})")
                elif run.state and run.state.is_final():
                    return run, given
                await asyncio.sleep(0.5)
            raise RunError(f"run {run_id} did not end within {timeout:.0f} s")

        return self.call(go)

    def finished_runs(self, tag: str, timeout: float) -> list[Any]:
        """The runs tagged `tag`, once there is one and all of them have ended."""
        async def runs(client: Any) -> list[Any]:
            return list(await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag]))))

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.call(runs)
            if found and all(r.state and r.state.is_final() for r in found):
                return found
            time.sleep(0.5)
        raise RunError(f"runs tagged {tag} did not all end within {timeout:.0f} s")

    def round_runs(self, round_id: str) -> list[Any]:
        """The round's runs (tagged `round:<id>`: deadline, chained and step runs)."""
        return list(self.call(lambda c: c.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[round_tag(round_id)])))))

    def runs_by_worker(self, since: datetime, at_least: int = 0, timeout: float = 30
                       ) -> dict[str, int]:
        """How many flow runs (attempts: a resumed run counts again) each worker executed since
        `since`, from the workers' `prefect.worker.executed-flow-run` events; waits up to
        `timeout` for `at_least` of them (events arrive a moment after the run ends)."""
        async def go(client: Any) -> dict[str, int]:
            counts: dict[str, int] = {}
            page = await client._client.post("/events/filter", json={
                "filter": {"occurred": {"since": since.isoformat()},
                           "event": {"name": ["prefect.worker.executed-flow-run"]}},
                "limit": 50})
            while True:
                page.raise_for_status()
                data = page.json()
                for event in data.get("events", []):
                    name = event["resource"].get("prefect.resource.name", "?")
                    counts[name] = counts.get(name, 0) + 1
                if not data.get("next_page"):
                    return counts
                page = await client._client.get(data["next_page"])

        deadline = time.monotonic() + timeout
        counts = self.call(go)
        while sum(counts.values()) < at_least and time.monotonic() < deadline:
            time.sleep(0.5)
            counts = self.call(go)
        return counts
