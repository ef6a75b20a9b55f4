"""Cancellation of a selected project (확인서 취소) — PROGRAM_RULES K5, K5a.

On its legal ground and date: the application becomes `cancelled`, every certificate of the
project `cancelled` from that date, each lead company banned for five years in the same
sanctions that screening reads (§4.5, `SANCTIONED`), a `certificate.cancelled` notice to each
lead; all audited with the ground. Cancelling twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sangsaeng.domain.certificates import GROUND_NAMES, CertificateStatus, ban_until
from sangsaeng.domain.clock import format_day
from sangsaeng.domain.companies import Role
from sangsaeng.domain.names import APPLICATION_STATES, named
from sangsaeng.domain.states import ApplicationState
from sangsaeng.io.after_selection import CancellationInput
from sangsaeng.journal import AppChange, Audit, Entry, Notice, cancel_projects, record
from sangsaeng.models import (
    APPLICATIONS,
    CERTIFICATES,
    PARTICIPANTS,
    SANCTIONS,
    Cancellation,
)
from sangsaeng.services.outcome import Outcome
from sangsaeng.services.projects import NoProject, project_by_receipt

A, P, C = APPLICATIONS.c, PARTICIPANTS.c, CERTIFICATES.c


@dataclass(slots=True)
class Cancelled(Outcome):
    """What a batch of cancellations did (`recorded`: the receipts cancelled), and the lead
    companies banned (K5a)."""

    banned: list[str] = field(default_factory=list)


def cancel(session: Session, items: Sequence[CancellationInput], *, now: datetime, actor: str
           ) -> Cancelled:
    """K5/K5a for each item, in order; unknown receipts and non-selected projects refused."""
    out = Cancelled()
    for item in items:
        app = project_by_receipt(session, item.receipt_no)
        if isinstance(app, NoProject):
            out.refuse(item, str(app))
            continue
        if session.get(Cancellation, app.id) is not None:
            out.unchanged.append(item.receipt_no)
            continue
        if app.state is not ApplicationState.SELECTED:  # K5: only a selected project
            out.refuse(item, f"접수번호 {item.receipt_no}의 신청은 "
                             f"{named(APPLICATION_STATES, app.state)} 상태입니다: 선정된 "
                             "과제만 취소할 수 있습니다")
            continue
        out.banned.extend(_cancel_one(session, item, (app.id, app.round_id, app.product_name),
                                      now, actor))
        out.recorded.append(item.receipt_no)
    return out


def _insert_ignore(session: Session, table: object, rows: list[dict[str, object]]) -> None:
    builder = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(builder(table).on_conflict_do_nothing(), rows)  # type: ignore[arg-type]


def _cancel_one(session: Session, item: CancellationInput, app: tuple[int, str, str],
                now: datetime, actor: str) -> list[str]:
    app_id, round_id, product_name = app
    leads = session.execute(select(P.brn, P.name, P.email).where(
        P.application_id == app_id, P.role == Role.LEAD).order_by(P.seq)).all()
    numbers = list(session.scalars(select(C.number).where(C.application_id == app_id)
                                   .order_by(C.number)))
    until = ban_until(item.decided_on)
    reason = f"{item.ground}: {item.reason}"
    payload = {"round_id": round_id, "receipt_no": item.receipt_no,
               "product_name": product_name,
               "ground": str(item.ground), "ground_name": GROUND_NAMES[item.ground],
               "reason": item.reason, "decided_on": format_day(item.decided_on),
               "banned_until": format_day(until), "certificate_numbers": numbers}
    by = Audit(now, actor, round_id)
    cancel_projects(session, by, [AppChange(
        app_id, item.receipt_no, ApplicationState.SELECTED, ApplicationState.CANCELLED,
        reasons="", notices=tuple(
            Notice("certificate.cancelled", "application", item.receipt_no, email, name,
                   {**payload, "company_name": name}) for _, name, email in leads))])
    session.add(Cancellation(application_id=app_id, round_id=round_id, ground=item.ground,
                             decided_on=item.decided_on, reason=item.reason))
    session.execute(update(CERTIFICATES).where(C.application_id == app_id)
                    .values(status=CertificateStatus.CANCELLED, cancelled_on=item.decided_on))
    _insert_ignore(session, SANCTIONS, [
        {"brn": brn, "banned_until": until, "reason": f"K5 {item.receipt_no} {reason}"[:500]}
        for brn, _, _ in leads])
    record(session, by, [
        *(Entry("certificate", n, "cancel", "K5a", reason, from_state=CertificateStatus.VALID,
                to_state=CertificateStatus.CANCELLED, data={"ground": str(item.ground),
                                            "decided_on": item.decided_on.isoformat()})
          for n in numbers),
        *(Entry("company", brn, "ban", "K5a", reason,
                data={"receipt_no": item.receipt_no, "banned_until": until.isoformat()})
          for brn, _, _ in leads)])
    session.flush()
    return [brn for brn, _, _ in leads]
