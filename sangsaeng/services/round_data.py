"""Load a round's rows as the domain's plain values (Core selects, not ORM objects: fast)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session

from sangsaeng.domain.companies import Role, Size
from sangsaeng.domain.scoring import Criterion
from sangsaeng.domain.screening import ApplicationFacts, Document, Participant, PriorCertificate
from sangsaeng.models import (
    APPLICATIONS,
    DOCUMENTS,
    PARTICIPANTS,
    PRIOR_CERTIFICATES,
    SANCTIONS,
    Round,
)

A, P, D = APPLICATIONS.c, PARTICIPANTS.c, DOCUMENTS.c


@dataclass(frozen=True, slots=True)
class Person:
    """A participant as notices, screening and ranking need it."""

    role: Role
    seq: int
    brn: str
    name: str
    email: str
    size: str
    founded_on: date
    direct_production: bool


def people_by_application(session: Session, round_id: str) -> dict[int, list[Person]]:
    """Participants of every application of the round, by application id, in (role, seq) order."""
    rows = session.execute(
        select(P.application_id, P.role, P.seq, P.brn, P.name, P.email, P.size, P.founded_on,
               P.direct_production)
        .select_from(PARTICIPANTS.join(APPLICATIONS))
        .where(A.round_id == round_id)
        .order_by(P.application_id, P.role, P.seq)
    )
    out: dict[int, list[Person]] = defaultdict(list)
    for app_id, role, seq, brn, name, email, size, founded, direct in rows:
        out[app_id].append(Person(role, seq, brn, name, email, size, founded, bool(direct)))
    return out


def application_facts(session: Session, round_id: str) -> dict[int, ApplicationFacts]:
    """Every application of the round as ApplicationFacts, by application id."""
    people = people_by_application(session, round_id)
    documents: dict[int, list[Document]] = defaultdict(list)
    for app_id, brn, doc_type, at in session.execute(
        select(D.application_id, D.brn, D.doc_type, D.submitted_at)
        .select_from(DOCUMENTS.join(APPLICATIONS)).where(A.round_id == round_id)):
        documents[app_id].append(Document(brn, doc_type, at))
    facts = {}
    for app_id, receipt, track, code, submitted in session.execute(
        select(A.id, A.receipt_no, A.track, A.product_code, A.submitted_at)
        .where(A.round_id == round_id)):
        participants = tuple(
            Participant(p.role, p.seq, p.brn, Size(p.size), p.founded_on, p.direct_production)
            for p in people.get(app_id, []))
        facts[app_id] = ApplicationFacts(receipt, track, code, submitted, participants,
                                         tuple(documents.get(app_id, [])))
    return facts


def sanctions_by_brn(session: Session) -> dict[str, date]:
    """§4.5: the latest ban end per BRN."""
    s = SANCTIONS.c
    return dict(session.execute(
        select(s.brn, func.max(s.banned_until)).group_by(s.brn)).all())


def prior_certificates(session: Session) -> list[PriorCertificate]:
    """§4.7: certificates from earlier rounds."""
    c = PRIOR_CERTIFICATES.c
    return [PriorCertificate(*row) for row in session.execute(
        select(c.brn, c.product_code, c.valid_from, c.valid_to))]


def criteria_of(rnd: Round) -> dict[str, tuple[Criterion, ...]]:
    """V1: the round's frozen criteria per track."""
    return {track: tuple(Criterion(c["key"], c["name"], Decimal(str(c["max"]))) for c in items)
            for track, items in rnd.settings["criteria"].items()}


def supplement_deadline_of(rnd: Round) -> datetime:
    """S1: the round's frozen supplement deadline."""
    return datetime.fromisoformat(rnd.settings["supplement_deadline"])


def receipt_ids(session: Session, round_id: str) -> dict[str, int]:
    """receipt number → application id, for the round."""
    return dict(session.execute(select(A.receipt_no, A.id).where(A.round_id == round_id))
                .all())
