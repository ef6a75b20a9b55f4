"""The daily dues run's certificate part: expiry reminders (K6, K6a).

Mall-listing support (M1, services/listing.py) and evaluations (M3, services/evaluations.py)
have their own parts of the dues run.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, select
from sqlmodel import Session

from sangsaeng.config import ProgramConfig
from sangsaeng.domain.certificates import CertificateStatus, reminder_due
from sangsaeng.domain.clock import format_day
from sangsaeng.domain.companies import Role
from sangsaeng.journal import Notice, owe_notices
from sangsaeng.models import CERTIFICATES, OUTBOX, PARTICIPANTS

P, C, OB = PARTICIPANTS.c, CERTIFICATES.c, OUTBOX.c


def expiry_reminders(session: Session, program: ProgramConfig, today: date) -> int:
    """K6/K6a: `certificate.expiring` to the lead when `valid_to − today` reaches a threshold
    (or on the first later run before `valid_to`); one reminder per threshold, and a missed
    larger threshold is not sent once a smaller one is due. Returns the notices owed now."""
    thresholds = sorted(program.certificates.expiry_reminder_days)
    horizon = date.fromordinal(today.toordinal() + max(thresholds))
    certs = session.execute(
        select(C.number, C.round_id, C.lead_name, C.product_name, C.valid_to, P.email)
        .select_from(CERTIFICATES.join(PARTICIPANTS, and_(
            P.application_id == C.application_id, P.brn == C.brn, P.role == Role.LEAD)))
        .where(C.status == CertificateStatus.VALID, C.valid_to > today, C.valid_to <= horizon)
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
