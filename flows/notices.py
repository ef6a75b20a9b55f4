"""Notices delivery as a flow of its own: run it to send what waits in the outbox."""

from __future__ import annotations

from prefect import flow

from flows.models import DeliveryOutcome
from tasks import steps


@flow(name="deliver_notices", persist_result=False)
async def deliver_notices(round_id: str) -> DeliveryOutcome:
    """Send the round's due notices (retries whose backoff has passed, rows of a crashed run).

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
    """
    return DeliveryOutcome(round_id=round_id, **steps.deliver_notices(round_id))
