"""Delivery of the outbox as tasks: one round's notices, or every round's due ones."""

from __future__ import annotations

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


def _delivered(report: DeliveryReport) -> Delivered:
    return Delivered(report.sent, report.retry_later, report.failed, report.released,
                     report.stopped, dict(report.sent_by_kind))


@task(cache_policy=NO_CACHE, persist_result=False)
async def deliver_notices(round_id: str | None) -> Delivered:
    """Send the due notices of a round (all rounds: None); if the server is away they wait in
    the outbox (nothing is lost). On the run's event loop: a cancelled or terminated run
    (Prefect's SIGTERM) lets the messages on the wire finish, gives every other row back at
    once, then ends as Prefect ends it (`deliver(..., then_terminate=True)`)."""
    return _delivered(await deliver(
        round_id=round_id, password=await smtp_password(),
        progress=lambda done, total: report("notices", done, total), then_terminate=True))
