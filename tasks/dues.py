"""The daily dues run as a task (K6a, M1b, M1c, M3), one transaction."""

from __future__ import annotations

from datetime import datetime

from sangsaeng.config import load_program
from sangsaeng.db import session_scope
from sangsaeng.domain.clock import kst_date
from sangsaeng.services import evaluations, listing, support
from sangsaeng.settings import get_settings
from tasks.results import DuesDone
from tasks.steps import step_task


@step_task
def run_dues(now: datetime) -> DuesDone:
    """The daily dues run: K6/K6a expiry reminders, M1b listing reminders and M1c escalations,
    M3 evaluation dues (idempotent for a day)."""
    day, program = kst_date(now), load_program(get_settings().config_dir)
    with session_scope() as session:
        expiring = support.expiry_reminders(session, program, day)
        stalled = listing.listing_dues(session, program.support, now)
        evaluating = evaluations.evaluation_dues(session, program, day)
    return DuesDone(day.isoformat(), {"certificate.expiring": expiring,
                                      "listing.reminder": stalled.reminders,
                                      "evaluation.due": evaluating}, stalled.escalated)
