"""Delivery of the outbox as tasks: one round's notices, or every round's due ones."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from sangsaeng.mail.delivery import deliver
from sangsaeng.mail.sender import DeliveryReport
from sangsaeng.progress import report
from sangsaeng.settings import get_settings
from tasks.results import Delivered


async def smtp_password() -> str | None:
    """The SMTP password: the environment, else the Prefect Secret block named in the settings."""
    settings = get_settings()
    if settings.smtp_password is not None or not settings.smtp_password_block:
        return None  # the sender reads the environment itself
    from prefect.blocks.system import Secret

    secret: Any = await Secret.aload(settings.smtp_password_block)
    return str(secret.get())


async def _deliver(round_id: str | None, stop: threading.Event) -> DeliveryReport:
    return await deliver(round_id=round_id, password=await smtp_password(),
                         progress=lambda done, total: report("notices", done, total), stop=stop)


def _delivered(report: DeliveryReport) -> Delivered:
    return Delivered(report.sent, report.retry_later, report.failed, report.released,
                     report.stopped, dict(report.sent_by_kind))


@task(cache_policy=NO_CACHE, persist_result=False)
def deliver_notices(round_id: str | None) -> Delivered:
    """Send the due notices of a round (all rounds: None); if the server is away they wait in
    the outbox (nothing is lost)."""
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:  # its own event loop, whoever calls this task
        future = pool.submit(asyncio.run, _deliver(round_id, stop))
        try:
            return _delivered(future.result())
        except BaseException:  # cancelled or terminated (Prefect raises it in this thread):
            stop.set()  # the messages on the wire finish, every other row is released now
            raise
