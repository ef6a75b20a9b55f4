"""The daily dues run at 09:00 KST: certificate expiry reminders (K6a), listing reminders
and escalations (M1b, M1c), evaluation dues (M3); then personal data past its period is
destroyed (issue 27)."""

from __future__ import annotations

from prefect import flow

from flows.models import Now, described, run_clock
from flows.owed import deliver
from flows.run_names import named_run
from tasks import dues


@flow(name="support_dues", flow_run_name=named_run, persist_result=False)
@described
async def support_dues(now: Now = None) -> dict[str, int]:
    """The daily dues run (09:00 KST): certificate expiry reminders 90 and 30 days ahead (K6a),
    listing reminders after 14 days in a step (M1b) and escalations after 60 (M1c), evaluation
    reminders 30 days before each due date (M3); then personal data past its period in
    `[privacy]` is destroyed, after the notices went (docs/privacy.md).

    Idempotent for a day: a second run that day owes nothing again. Returns the notices owed
    by kind, the steps escalated (`escalated`) and the kinds of personal data destroyed
    (`purged`).
    """
    clock = run_clock(now)
    done = dues.run_dues(clock)
    await deliver(None)
    purged = dues.purge_personal_data(clock, "prefect")
    return {**done.owed, "escalated": done.escalated, "purged": purged}
