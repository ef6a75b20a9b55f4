"""The one place where states change: transition tables checked, audit rows and notices written.

Bulk by design: a round has thousands of applications, so every function takes many rows at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from sangsaeng.domain.states import (
    ApplicationState,
    InvalidTransition,
    RoundState,
    check_application_transition,
    check_round_transition,
)
from sangsaeng.errors import StepError
from sangsaeng.mail.outbox import Notice as Notice  # re-exported: services owe notices here
from sangsaeng.mail.outbox import enqueue
from sangsaeng.models import (
    APPLICATIONS,
    ROUNDS,
    Application,
    AuditEvent,
    Round,
    utcnow,
)


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
    """Record notices in the outbox, rendered now; an identical key is kept once."""
    return enqueue(session, round_id, notices)


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


@contextmanager
def _transition_table() -> Iterator[None]:
    """An illegal transition is the user's to see (a step run out of order), not a crash."""
    try:
        yield
    except InvalidTransition as exc:
        raise StepError(str(exc)) from None


def _concurrent(what: str) -> StepError:
    return StepError(f"{what} changed while this step ran (another run at the same time?); "
                     "nothing was written — run the step again")


def move_round(
    session: Session, rnd: Round, target: RoundState, *, at: datetime, actor: str, rule: str,
    reason: str = "",
) -> None:
    """R2: move a round one state forward; audited. Fails if another run moved it meanwhile."""
    with _transition_table():
        check_round_transition(RoundState(rnd.state), target)
    moved = session.execute(
        update(ROUNDS).where(ROUNDS.c.id == rnd.id, ROUNDS.c.state == rnd.state)
        .values(state=target.value, updated_at=utcnow()))
    if _rowcount(moved) != 1:
        raise _concurrent(f"round {rnd.id}")
    record_events(session, [{
        "at": at, "actor": actor, "round_id": rnd.id, "entity": "round", "entity_id": rnd.id,
        "action": "transition", "from_state": rnd.state, "to_state": target.value,
        "reason": reason, "rule": rule, "data": {},
    }])
    set_committed_value(rnd, "state", target.value)  # already written, conditionally


def move_applications(
    session: Session, round_id: str, changes: Sequence[AppChange], *, at: datetime, actor: str,
    rule: str,
) -> None:
    """Apply application transitions in bulk: state + reasons, audit rows, notices owed.

    Every change is checked against the transition table before anything is written.
    """
    with _transition_table():
        for c in changes:
            check_application_transition(ApplicationState(c.from_state),
                                         ApplicationState(c.to_state))
    if not changes:
        return
    a = APPLICATIONS.c
    moved = session.execute(
        update(APPLICATIONS)
        .where(a.id == bindparam("app_id"), a.state == bindparam("from_state"))
        .values(state=bindparam("to_state"), reasons=bindparam("new_reasons")),
        [{"app_id": c.application_id, "from_state": c.from_state, "to_state": c.to_state,
          "new_reasons": c.reasons} for c in changes])
    done = _rowcount(moved)
    if session.get_bind().dialect.supports_sane_multi_rowcount and done != len(changes):
        raise _concurrent(f"{len(changes) - done} application(s) of round {round_id}")
    extras = [{"id": c.application_id, **c.extra} for c in changes if c.extra]
    if extras:
        session.execute(update(Application), extras)
    record_events(session, [
        {
            "at": at, "actor": actor, "round_id": round_id, "entity": "application",
            "entity_id": c.receipt_no, "action": "transition", "from_state": c.from_state,
            "to_state": c.to_state, "reason": c.reasons, "rule": rule, "data": {},
        }
        for c in changes
    ])
    owe_notices(session, round_id, (n for c in changes for n in c.notices))
