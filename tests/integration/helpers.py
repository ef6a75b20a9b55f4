"""Helpers for integration tests: run the round flow in-process, read outputs back."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.models import AuditEvent, OutboxMessage
from sangsaeng.reports import DECISION_COLUMNS, decision_rows, selection_table, to_csv
from sangsaeng.services.rounds import get_round


def run(config: Path, data: Path, now: str, **kwargs: Any) -> Any:
    """Run the `round` flow to completion and return its report."""
    from flows.models import Step
    from flows.round import round_flow

    until = kwargs.pop("until", None)
    flow = round_flow.with_options(flow_run_name=kwargs.pop("run_name", None))
    return asyncio.run(flow(str(config), str(data), parse_instant(now),
                            until=Step(until) if until else None, **kwargs))


def task_runs_of(run_name: str) -> int:
    """Task runs Prefect recorded for one flow run (they arrive as events: wait until stable)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    async def count() -> int:
        async with get_client() as client:
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[run_name])))
            tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(
                id={"any_": [r.id for r in runs]}))
            return len(tasks)

    last, deadline = -1, time.monotonic() + 20
    while time.monotonic() < deadline:
        now = asyncio.run(count())
        if now == last and now > 0:
            return now
        last = now
        time.sleep(1)
    return last


def read_csv(text: str) -> list[list[str]]:
    """Rows of a CSV text, ignoring BOM and line endings."""
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def decisions_csv(round_id: str) -> str:
    """The decisions export as a user gets it."""
    with session_scope(get_engine()) as session:
        return to_csv(DECISION_COLUMNS, decision_rows(session, get_round(session, round_id)))


def selection_csv(round_id: str) -> str:
    """The selection export as a user gets it."""
    from sangsaeng.domain.selection import SELECTION_COLUMNS

    with session_scope(get_engine()) as session:
        return to_csv(SELECTION_COLUMNS, selection_table(session, get_round(session, round_id)))


def counts() -> dict[str, Any]:
    """Audit rows and outbox rows by kind: what a re-run must not change."""
    with session_scope(get_engine()) as session:
        audit = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        outbox = dict(session.execute(select(OutboxMessage.kind, func.count())
                                      .group_by(OutboxMessage.kind)).all())
    return {"audit": audit, "outbox": outbox}


def kst(text: str) -> datetime:
    """An instant written in KST."""
    return parse_instant(text)
