"""The task behind the office's event form (M4): one transaction for the whole invitation."""

from __future__ import annotations

from datetime import datetime

from sangsaeng.db import session_scope
from sangsaeng.domain.clock import kst_date
from sangsaeng.services.invitations import EventInput, Invited, invite
from tasks.steps import step_task


@step_task
def invite_to_event(event: EventInput, now: datetime, actor: str) -> Invited:
    """M4: record the event and owe one invitation per certified company not invited yet."""
    with session_scope() as session:
        return invite(session, event, today=kst_date(now), now=now, actor=actor)
