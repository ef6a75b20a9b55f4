"""After the selection (INTERFACES §5): production confirmations (K1) entered later, and the
daily dues run's certificate part — expiry reminders (K6, K6a).

Mall-listing support (M1, services/listing.py) and evaluations (M3, services/evaluations.py)
have their own parts of the dues run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sangsaeng.config import ProgramConfig
from sangsaeng.domain.certificates import reminder_due
from sangsaeng.domain.clock import format_day
from sangsaeng.domain.states import ApplicationState
from sangsaeng.io.support import ProductionInput
from sangsaeng.journal import Audit, Entry, Notice, owe_notices, record
from sangsaeng.models import APPLICATIONS, CERTIFICATES, OUTBOX, PARTICIPANTS, PRODUCTION
from sangsaeng.services.projects import NoProject, project_by_receipt

A, P, C, OB = APPLICATIONS.c, PARTICIPANTS.c, CERTIFICATES.c, OUTBOX.c


@dataclass(slots=True)
class Confirmed:
    """What a batch of production confirmations did, and the rounds to issue for."""

    recorded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    rounds: list[str] = field(default_factory=list)


def confirm_production(session: Session, items: Sequence[ProductionInput], *, now: datetime,
                       actor: str) -> Confirmed:
    """K1: record each lead's production confirmation; refused when the application is not
    selected or the BRN is not one of its leads. A confirmation given twice is kept once."""
    out = Confirmed()
    for item in items:
        where = f"{item.file} row {item.row}: " if item.file else ""
        app = project_by_receipt(session, item.receipt_no)
        if isinstance(app, NoProject):
            out.refused.append(f"{where}{app}")
            continue
        if app.state is not ApplicationState.SELECTED:
            out.refused.append(f"{where}{item.receipt_no} is {app.state}, not selected: no "
                               "certificate can follow (K1)")
            continue
        lead = session.scalar(select(P.id).where(P.application_id == app.id, P.brn == item.brn,
                                                 P.role == "lead"))
        if lead is None:
            out.refused.append(f"{where}{item.brn} is not a lead company of {item.receipt_no}")
            continue
        builder = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        added = session.execute(builder(PRODUCTION).on_conflict_do_nothing().values(
            application_id=app.id, brn=item.brn, confirmed_at=item.confirmed_at
        ).returning(PRODUCTION.c.id)).first()
        if added is None:
            out.unchanged.append(f"{item.receipt_no} {item.brn}")
            continue
        record(session, Audit(now, actor, app.round_id), [Entry(
            "application", item.receipt_no, "confirm_production", "K1",
            data={"brn": item.brn, "confirmed_at": item.confirmed_at.isoformat()})])
        out.recorded.append(f"{item.receipt_no} {item.brn}")
        if app.round_id not in out.rounds:
            out.rounds.append(app.round_id)
    return out


def expiry_reminders(session: Session, program: ProgramConfig, today: date) -> int:
    """K6/K6a: `certificate.expiring` to the lead when `valid_to − today` reaches a threshold
    (or on the first later run before `valid_to`); one reminder per threshold, and a missed
    larger threshold is not sent once a smaller one is due. Returns the notices owed now."""
    thresholds = sorted(program.certificates.expiry_reminder_days)
    horizon = date.fromordinal(today.toordinal() + max(thresholds))
    certs = session.execute(
        select(C.number, C.round_id, C.lead_name, C.product_name, C.valid_to, P.email)
        .select_from(CERTIFICATES.join(PARTICIPANTS, and_(
            P.application_id == C.application_id, P.brn == C.brn, P.role == "lead")))
        .where(C.status == "valid", C.valid_to > today, C.valid_to <= horizon)
        .order_by(C.number)).all()
    if not certs:
        return 0
    sent: dict[str, set[int]] = {}
    for subject in session.scalars(select(OB.subject_id).where(
            OB.kind == "certificate.expiring", OB.subject_type == "certificate")):
        number, _, threshold = subject.rpartition(":")
        sent.setdefault(number, set()).add(int(threshold))
    owed: dict[str, list[Notice]] = {}
    for c in certs:
        due = [t for t in thresholds if reminder_due(today, c.valid_to, t)]
        done = sent.get(c.number, set())
        if not due or any(t <= due[0] for t in done):
            continue  # nothing due, or this threshold (or a nearer one) already reminded
        owed.setdefault(c.round_id, []).append(Notice(
            "certificate.expiring", "certificate", f"{c.number}:{due[0]}", c.email,
            c.lead_name, {"round_id": c.round_id, "certificate_number": c.number,
                          "company_name": c.lead_name, "product_name": c.product_name,
                          "valid_to": format_day(c.valid_to),
                          "days_left": (c.valid_to - today).days, "threshold": due[0]}))
    return sum(owe_notices(session, round_id, notices) for round_id, notices in owed.items())
