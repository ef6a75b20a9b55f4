"""Production confirmations (생산 확인, K1) entered after the selection (INTERFACES §5: the
`confirm_production` form or `production.csv` of `support import`): a certificate becomes due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sangsaeng.domain.companies import Role
from sangsaeng.domain.states import ApplicationState
from sangsaeng.io.rows import ProductionRow
from sangsaeng.journal import Audit, Entry, record
from sangsaeng.models import APPLICATIONS, PARTICIPANTS, PRODUCTION
from sangsaeng.services.outcome import Outcome
from sangsaeng.services.projects import NoProject, project_by_receipt

A, P = APPLICATIONS.c, PARTICIPANTS.c


@dataclass(slots=True)
class Confirmed(Outcome):
    """What a batch of production confirmations did, and the rounds to issue for."""

    rounds: list[str] = field(default_factory=list)


def confirm_production(session: Session, items: Sequence[ProductionRow], *, now: datetime,
                       actor: str) -> Confirmed:
    """K1: record each lead's production confirmation; refused when the application is not
    selected or the BRN is not one of its leads. A confirmation given twice is kept once."""
    out = Confirmed()
    for item in items:
        app = project_by_receipt(session, item.receipt_no)
        if isinstance(app, NoProject):
            out.refuse(item, str(app))
            continue
        if app.state is not ApplicationState.SELECTED:
            out.refuse(item, f"{item.receipt_no} is {app.state}, not selected: no "
                             "certificate can follow (K1)")
            continue
        lead = session.scalar(select(P.id).where(P.application_id == app.id, P.brn == item.brn,
                                                 P.role == Role.LEAD))
        if lead is None:
            out.refuse(item, f"{item.brn} is not a lead company of {item.receipt_no}")
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
