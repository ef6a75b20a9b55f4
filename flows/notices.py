"""Notices delivery as a flow of its own: run it to send what waits in the outbox."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger

from flows.models import DeliveryOutcome, RoundId, described
from flows.run_names import named_run
from tasks.notices import deliver_notices as deliver


@flow(name="deliver_notices", flow_run_name=named_run, persist_result=False)
@described
async def deliver_notices(round_id: RoundId) -> DeliveryOutcome:
    """Send the round's due notices (retries whose backoff has passed, rows of a crashed run)."""
    done = DeliveryOutcome(round_id=round_id, **asdict(await deliver(round_id)))
    get_run_logger().info(done.story())
    return done
