"""The one place where states change: transition tables checked, audit rows and notices written.

Bulk by design: a round has thousands of applications, so every function takes many rows at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, bindparam, insert, select, text, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from sangsaeng.domain import audit
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
    AUDIT,
    ROUNDS,
    Application,
    AuditEvent,
    Round,
    utcnow,
)

AU = AUDIT.c


@dataclass(frozen=True, slots=True)
class Audit:
    """Who changes something, when, and in which round: what every entry of one change shares."""

    at: datetime
    actor: str
    round_id: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One audited change: what (entity, id), which action, under which rule, why."""

    entity: str
    entity_id: str
    action: str
    rule: str | None
    reason: str = ""
    from_state: str | None = None
    to_state: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def record(session: Session, by: Audit, entries: Iterable[Entry]) -> int:
    """Append audit rows, in bulk: the one way anything is written to the audit trail. Each
    row's hash extends its round's chain (domain/audit.py), in this transaction."""
    now = utcnow()
    rows = [{
        "at": by.at, "recorded_at": now, "actor": by.actor, "round_id": by.round_id,
        "entity": e.entity, "entity_id": e.entity_id, "action": e.action, "rule": e.rule,
        "reason": e.reason, "data": dict(e.data),
        "from_state": None if e.from_state is None else str(e.from_state),
        "to_state": None if e.to_state is None else str(e.to_state),
    } for e in entries]
    if rows:
        previous = chain_head(session, by.round_id)
        for row in rows:
            previous = row["hash"] = audit.link(previous, row)
        session.execute(insert(AuditEvent), rows)
    return len(rows)


def chain_head(session: Session, round_id: str | None) -> str:
    """The last hash of the round's audit chain, the chain held until this transaction ends:
    on PostgreSQL an advisory lock, so that concurrent writers extend it one after the other
    (SQLite has one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": audit.lock_key(round_id)})
    last = session.scalar(select(AU.hash).where(
        AU.round_id.is_(None) if round_id is None else AU.round_id == round_id)
        .order_by(AU.id.desc()).limit(1))
    return last or audit.GENESIS


@dataclass(frozen=True, slots=True)
class AppChange:
    """One application's move to a new state, with reasons and the notices it owes."""

    application_id: int
    receipt_no: str
    from_state: ApplicationState
    to_state: ApplicationState
    reasons: str = ""
    notices: tuple[Notice, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


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
        check_round_transition(rnd.state, target)
    moved = session.execute(
        update(ROUNDS).where(ROUNDS.c.id == rnd.id, ROUNDS.c.state == rnd.state)
        .values(state=target, updated_at=utcnow()))
    if _rowcount(moved) != 1:
        raise _concurrent(f"round {rnd.id}")
    record(session, Audit(at, actor, rnd.id), [Entry(
        "round", rnd.id, "transition", rule, reason, from_state=rnd.state, to_state=target)])
    set_committed_value(rnd, "state", target)  # already written, conditionally


def _move_applications(session: Session, by: Audit, changes: Sequence[AppChange], rule: str
                       ) -> None:
    """Apply application transitions in bulk: state + reasons, audit rows, notices owed.

    Every change is checked against the transition table before anything is written.
    """
    assert by.round_id is not None
    round_id = by.round_id
    with _transition_table():
        for c in changes:
            check_application_transition(c.from_state, c.to_state)
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
    record(session, by, (Entry("application", c.receipt_no, "transition", rule, c.reasons,
                               from_state=c.from_state, to_state=c.to_state) for c in changes))
    owe_notices(session, round_id, (n for c in changes for n in c.notices))


def request_supplements(session: Session, by: Audit, changes: Sequence[AppChange]) -> None:
    """§4.6: received → supplement_requested; audited, `screening.supplement_requested` owed."""
    _move_applications(session, by, changes, "§4.6")


def record_screening(session: Session, by: Audit, changes: Sequence[AppChange]) -> None:
    """§4: screening's outcome (eligible / ineligible); audited, `screening.ineligible` owed."""
    _move_applications(session, by, changes, "§4")


def release_decisions(session: Session, by: Audit, changes: Sequence[AppChange]) -> None:
    """V10: eligible → the approved placement (selected / reserve / not_selected); audited,
    `selection.*` owed to every participant."""
    _move_applications(session, by, changes, "V10")


def cancel_projects(session: Session, by: Audit, changes: Sequence[AppChange]) -> None:
    """K5: selected → cancelled; audited with the legal ground, `certificate.cancelled` owed."""
    _move_applications(session, by, changes, "K5")
