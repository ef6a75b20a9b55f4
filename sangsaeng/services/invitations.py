"""Invitations to events (비대면 전시·상담회, 나라장터 엑스포 상생협력제품관, 조달 교육) — M4.

One invitation per (event, company) to the lead and partner companies of selected projects
that hold a valid certificate on the day; a company in several such projects is invited once.
The event is recorded once per (kind, title, date): entering it again invites only companies
that were not invited yet (a project certified since), so a repeated form sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from sangsaeng.domain.certificates import CertificateStatus, status_on
from sangsaeng.domain.clock import format_day
from sangsaeng.domain.events import EVENT_NAMES, EventKind, is_web_link
from sangsaeng.domain.states import ApplicationState
from sangsaeng.errors import StepError
from sangsaeng.journal import Audit, Entry, Notice, owe_notices, record
from sangsaeng.models import APPLICATIONS, CERTIFICATES, OUTBOX, PARTICIPANTS, SUPPORT_EVENTS

A, P, C, E, OB = APPLICATIONS.c, PARTICIPANTS.c, CERTIFICATES.c, SUPPORT_EVENTS.c, OUTBOX.c


@dataclass(frozen=True, slots=True)
class EventInput:
    """M4: what the office enters for an event."""

    kind: EventKind
    title: str
    held_on: date
    place: str
    link: str = ""


@dataclass(frozen=True, slots=True)
class Invited:
    """What an invitation run did: the event's id, companies invited now and before."""

    event_id: int
    invited: int
    already: int


def _event_id(session: Session, event: EventInput) -> tuple[int, bool]:
    """The event's row (created on first entry); whether it is new."""
    found = session.scalar(select(E.id).where(
        E.kind == event.kind, E.title == event.title, E.held_on == event.held_on))
    if found is not None:
        return found, False
    created = session.execute(SUPPORT_EVENTS.insert().values(
        kind=event.kind, title=event.title, held_on=event.held_on, place=event.place,
        link=event.link).returning(E.id)).scalar_one()
    return created, True


def invitees(session: Session, today: date) -> list[tuple[str, str, str, str]]:
    """M4: (round, BRN, name, e-mail) of every lead and partner of a selected project with a
    valid certificate on `today`, once per company (its first project in round and receipt
    order), in that order."""
    rows = session.execute(
        select(A.round_id, A.receipt_no, C.valid_to, C.cancelled_on, P.role, P.seq, P.brn,
               P.name, P.email)
        .select_from(APPLICATIONS.join(CERTIFICATES, C.application_id == A.id)
                     .join(PARTICIPANTS, P.application_id == A.id))
        .where(A.state == ApplicationState.SELECTED)
        .order_by(A.round_id, A.receipt_no, P.role, P.seq)).all()
    out: dict[str, tuple[str, str, str, str]] = {}
    for r in rows:
        if status_on(today, r.valid_to, r.cancelled_on) is CertificateStatus.VALID:
            out.setdefault(r.brn, (r.round_id, r.brn, r.name, r.email))
    return list(out.values())


def invite(session: Session, event: EventInput, *, today: date, now: datetime, actor: str
           ) -> Invited:
    """M4: record the event and owe one `support.invitation` per company not invited yet."""
    if not event.title.strip() or not event.place.strip():
        raise StepError("an event needs a title and a place")
    if not is_web_link(event.link):
        raise StepError(f"the event's link must be an http(s) address, got {event.link!r}")
    event_id, new = _event_id(session, event)
    payload = {"event_kind": str(event.kind), "event_kind_name": EVENT_NAMES[event.kind],
               "event_title": event.title, "event_date": format_day(event.held_on),
               "event_place": event.place, "event_link": event.link}
    companies = invitees(session, today)
    done = {subject.partition(":")[2] for subject in session.scalars(select(OB.subject_id).where(
        OB.kind == "support.invitation", OB.subject_id.like(f"{event_id}:%")))}
    by_round: dict[str, list[Notice]] = {}
    for round_id, brn, name, email in companies:
        if brn in done:  # once per (event, company), whichever project it came through
            continue
        by_round.setdefault(round_id, []).append(Notice(
            "support.invitation", "event", f"{event_id}:{brn}", email, name,
            {**payload, "round_id": round_id, "company_name": name}))
    invited = sum(owe_notices(session, round_id, notices)
                  for round_id, notices in by_round.items())
    if new or invited:
        record(session, Audit(now, actor), [Entry(
            "event", str(event_id), "invite", "M4", event.title,
            data={"kind": str(event.kind), "held_on": event.held_on.isoformat(),
                  "invited": invited, "companies": len(companies)})])
    return Invited(event_id, invited, len(companies) - invited)
