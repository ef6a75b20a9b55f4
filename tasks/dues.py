"""The daily dues run as tasks: what is owed (K6a, M1b, M1c, M3) in one transaction, then the
destruction of personal data past its period (issue 27, services/privacy.py)."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger

from sangsaeng.config import load_program
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import kst_date
from sangsaeng.services import evaluations, expiry, listing, privacy
from sangsaeng.settings import get_settings
from tasks.results import DuesDone
from tasks.steps import step_task


@step_task
def run_dues(now: datetime) -> DuesDone:
    """The daily dues run: K6/K6a expiry reminders, M1b listing reminders and M1c escalations,
    M3 evaluation dues (idempotent for a day)."""
    day, program = kst_date(now), load_program(get_settings().config_dir)
    with session_scope() as session:
        expiring = expiry.expiry_reminders(session, program, day)
        stalled = listing.listing_dues(session, program.support, now)
        evaluating = evaluations.evaluation_dues(session, program, day)
    return DuesDone(day.isoformat(), {"certificate.expiring": expiring,
                                      "listing.reminder": stalled.reminders,
                                      "evaluation.due": evaluating}, stalled.escalated)


@step_task
def purge_personal_data(now: datetime, actor: str) -> int:
    """파기: personal data past its `[privacy]` period destroyed (services/privacy.purge); each
    destruction audited and logged. Returns how many kinds of data went."""
    settings = get_settings()
    periods = privacy.periods_of(load_program(settings.config_dir).privacy)
    result = privacy.purge(get_engine(), periods, settings, now=now, actor=actor,
                           client="local")
    logger = get_run_logger()
    for line in result.summary():
        logger.info("%s", line)
    return len(result.destroyed.lines) if result.destroyed else 0
