"""The round's last step (R2/M1) as a task: the listing checklists start."""

from __future__ import annotations

from datetime import datetime

from sangsaeng.db import session_scope
from sangsaeng.services import listing, rounds
from tasks.steps import step_task


@step_task
def begin_listing_support(round_id: str, now: datetime, actor: str) -> tuple[str, dict[str, int]]:
    """R2/M1: the round's last step: `certifying → support`; products per current step."""
    with session_scope() as session:
        rnd = rounds.get_round(session, round_id)
        steps = listing.begin_support(session, rnd, now=now, actor=actor)
        return str(rnd.state), steps
