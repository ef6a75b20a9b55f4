"""The one place where states change: transition tables checked, audit rows and notices written.

Bulk by design: a round has thousands of applications, so every function takes many rows at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sangsaeng.domain.states import (
    ApplicationState,
    RoundState,
    check_application_transition,
    check_round_transition,
)
from sangsaeng.models import Application, AuditEvent, OutboxMessage, Round, utcnow


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice owed: kind, the entity it is about, one recipient, and the template's data."""

    kind: str
    subject_type: str
    subject_id: str
    recipient: str
    recipient_name: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AppChange:
    """One application's move to a new state, with reasons and the notices it owes."""

    application_id: int
    receipt_no: str
    from_state: str
    to_state: str
    reasons: str = ""
    notices: tuple[Notice, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def record_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append audit rows (bulk)."""
    if rows:
        now = utcnow()
        session.execute(insert(AuditEvent), [{"recorded_at": now, **row} for row in rows])


def owe_notices(session: Session, round_id: str, notices: Iterable[Notice]) -> int:
    """Record notices in the outbox; an identical (round, kind, subject, recipient) is kept once."""
    rows = [
        {
            "round_id": round_id,
            "kind": n.kind,
            "subject_type": n.subject_type,
            "subject_id": n.subject_id,
            "recipient": n.recipient,
            "recipient_name": n.recipient_name,
            "payload": n.payload,
            "state": "pending",
            "created_at": utcnow(),
        }
        for n in notices
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = builder(OutboxMessage).on_conflict_do_nothing(
        index_elements=["round_id", "kind", "subject_type", "subject_id", "recipient"]
    )
    total = 0
    for start in range(0, len(rows), 2000):
        result = session.execute(stmt, rows[start : start + 2000])
        total += max(getattr(result, "rowcount", 0) or 0, 0)
    return total


def move_round(
    session: Session, rnd: Round, target: RoundState, *, at: datetime, actor: str, rule: str,
    reason: str = "",
) -> None:
    """R2: move a round one state forward; audited."""
    check_round_transition(RoundState(rnd.state), target)
    record_events(session, [{
        "at": at, "actor": actor, "round_id": rnd.id, "entity": "round", "entity_id": rnd.id,
        "action": "transition", "from_state": rnd.state, "to_state": target.value,
        "reason": reason, "rule": rule, "data": {},
    }])
    rnd.state = target.value
    rnd.updated_at = utcnow()
    session.add(rnd)


def move_applications(
    session: Session, round_id: str, changes: Sequence[AppChange], *, at: datetime, actor: str,
    rule: str,
) -> None:
    """Apply application transitions in bulk: state + reasons, audit rows, notices owed.

    Every change is checked against the transition table before anything is written.
    """
    for change in changes:
        check_application_transition(
            ApplicationState(change.from_state), ApplicationState(change.to_state)
        )
    if not changes:
        return
    session.execute(
        update(Application),
        [
            {"id": c.application_id, "state": c.to_state, "reasons": c.reasons, **c.extra}
            for c in changes
        ],
    )
    record_events(session, [
        {
            "at": at, "actor": actor, "round_id": round_id, "entity": "application",
            "entity_id": c.receipt_no, "action": "transition", "from_state": c.from_state,
            "to_state": c.to_state, "reason": c.reasons, "rule": rule, "data": {},
        }
        for c in changes
    ])
    owe_notices(session, round_id, (n for c in changes for n in c.notices))
