"""Recurring flows. Their schedules are in KST (`Cron(..., timezone="Asia/Seoul")`): a plain
`cron=` means UTC in Prefect 3 (PrefectHQ/prefect#18645, FIELD_NOTES)."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger
from prefect.settings import PREFECT_UI_URL

from flows import round_runs
from flows.models import DeliveryOutcome
from flows.run_names import named_run
from tasks.artifacts import publish_office_digest, publish_round, publish_statistics
from tasks.notices import deliver_notices
from tasks.rounds import active_rounds


@flow(name="deliver_due_notices", flow_run_name=named_run, persist_result=False)
async def deliver_due_notices() -> DeliveryOutcome:
    """Send whatever notices are due in every round (the outbox keeps what cannot go now)."""
    result = await deliver_notices(None)
    if result.stopped:
        get_run_logger().warning("안내 메일이 발송함에서 기다립니다: %s", result.stopped)
    return DeliveryOutcome(round_id="*", **asdict(result))


@flow(name="office_digest", flow_run_name=named_run, persist_result=False)
async def office_digest() -> list[str]:
    """Refresh the status dashboard of every round in progress and of every round holding
    certificates, publish the office digest (certificates issued / cancelled / expiring) and
    the program statistics with their chart (M5); returns the round ids refreshed."""
    round_ids = active_rounds()
    for round_id in round_ids:
        publish_round(round_id)
    waiting = await round_runs.waiting_for_input(PREFECT_UI_URL.value())
    refreshed = [*round_ids, *publish_office_digest(waiting)]
    publish_statistics()
    return refreshed
