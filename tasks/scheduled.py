"""Tasks of the recurring (scheduled) flows."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from sangsaeng.mail.delivery import deliver
from tasks.steps import smtp_password


async def _deliver_all() -> Any:
    return await deliver(round_id=None, password=await smtp_password())


@task(cache_policy=NO_CACHE, persist_result=False)
def deliver_all_notices() -> dict[str, Any]:
    """Send every round's due notices (retries whose backoff has passed, crashed batches)."""
    with ThreadPoolExecutor(1) as pool:  # its own event loop, whoever calls this task
        report = pool.submit(asyncio.run, _deliver_all()).result()
    return {"sent": report.sent, "retry_later": report.retry_later, "failed": report.failed,
            "released": report.released, "stopped": report.stopped}


@task(cache_policy=NO_CACHE, persist_result=False)
def active_rounds() -> list[str]:
    """Ids of the rounds that are open or not yet notified (R2), and not cancelled."""
    from sqlalchemy import select

    from sangsaeng.db import session_scope
    from sangsaeng.models import Round

    table = Round.__table__.c  # type: ignore[attr-defined]
    done = ("draft", "notified", "certifying", "support", "archived", "cancelled")
    with session_scope() as session:
        return list(session.execute(select(table.id).where(table.state.not_in(done))
                                    .order_by(table.id)).scalars())
