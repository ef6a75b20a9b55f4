"""The tasks behind the office's review of a cancellation a failed evaluation proposes
(M3/K5)."""

from __future__ import annotations

from datetime import datetime

from sangsaeng.db import session_scope
from sangsaeng.services import evaluations
from tasks.steps import step_task


@step_task
def pending_cancellation(receipt_no: str) -> evaluations.Pending | None:
    """M3: the oldest cancellation proposed for `receipt_no` still waiting for the office."""
    with session_scope() as session:
        found = evaluations.pending_cancellations(session, receipt_no)
    return found[0] if found else None


@step_task
def decide_cancellation(pending_id: int, confirm: bool, reason: str, decided_by: str,
                        now: datetime) -> tuple[str, list[str]]:
    """M3/K5: the office's decision on a proposed cancellation: (state, leads banned)."""
    with session_scope() as session:
        found = [p for p in evaluations.pending_cancellations(session) if p.id == pending_id]
        if not found:  # decided meanwhile (another review run of the same proposal)
            return "already decided", []
        pending = found[0]
        done = evaluations.decide_pending(session, pending, confirm=confirm, reason=reason,
                                          decided_by=decided_by, now=now)
    return ("confirmed", done.banned) if done is not None else ("dismissed", [])
