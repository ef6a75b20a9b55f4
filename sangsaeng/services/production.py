"""Production confirmations (생산 확인, K1): a certificate becomes due. They come in the round
package's production.csv at intake (INTERFACES §2, `intake`) or after the selection (§5: the
`confirm_production` form or `production.csv` of `support import`); both paths check them with
one rule set (`refusal`) and write them with one writer (`store`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sangsaeng.domain.companies import Role
from sangsaeng.domain.names import APPLICATION_STATES, named
from sangsaeng.domain.states import TERMINAL_APPLICATION_STATES, ApplicationState
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


def refusal(item: ProductionRow, state: ApplicationState, leads: Collection[str]) -> str | None:
    """K1, the one rule set for a production confirmation, whichever path brings it (the round
    package's production.csv at intake, or after selection the form and `support import`):
    why it is refused, or None. The receipt number is resolved before (the round's, or one
    project across rounds). Intake may come before the selection, so "selected" is not asked
    here: an application that can no longer be selected is refused, and issuance certifies
    only the confirmed leads of selected applications (`certificates._due`)."""
    if state in TERMINAL_APPLICATION_STATES:  # K1: no certificate can follow
        return (f"접수번호 {item.receipt_no}의 신청은 {named(APPLICATION_STATES, state)} "
                "상태입니다: 선정된 신청이 아니므로 확인서를 발급할 수 없습니다")
    if item.brn not in leads:
        return not_a_lead(item.brn, item.receipt_no)
    return None


def not_a_lead(brn: str, receipt_no: str) -> str:
    """The reason of a row naming a company (the row's own BRN) that is no lead of it."""
    return f"{brn} 기업은 {receipt_no} 신청의 주관기업이 아닙니다"


def leads_of(session: Session, where: ColumnElement[bool]) -> defaultdict[int, set[str]]:
    """The lead companies' BRNs of the applications `where` selects (K1: a lead is certified)."""
    leads: defaultdict[int, set[str]] = defaultdict(set)
    for app_id, brn in session.execute(
            select(P.application_id, P.brn).select_from(PARTICIPANTS.join(APPLICATIONS))
            .where(P.role == Role.LEAD, where)):
        leads[app_id].add(brn)
    return leads


def store(session: Session, application_id: int, item: ProductionRow) -> bool:
    """K1: write one production confirmation, the one writer of both paths; True when added,
    False when that lead's confirmation is already on file (the first one is kept)."""
    builder = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return session.execute(builder(PRODUCTION).on_conflict_do_nothing().values(
        application_id=application_id, brn=item.brn, confirmed_at=item.confirmed_at
    ).returning(PRODUCTION.c.id)).first() is not None


def confirm_production(session: Session, items: Sequence[ProductionRow], *, now: datetime,
                       actor: str) -> Confirmed:
    """K1 after selection: record each lead's production confirmation (the one rule set,
    `refusal`); a confirmation given twice is kept once."""
    out = Confirmed()
    for item in items:
        app = project_by_receipt(session, item.receipt_no)
        if isinstance(app, NoProject):
            out.refuse(item, str(app))
            continue
        why = refusal(item, app.state, leads_of(session, A.id == app.id)[app.id])
        if why is not None:
            out.refuse(item, why)
            continue
        if not store(session, app.id, item):
            out.unchanged.append(f"{item.receipt_no} {item.brn}")
            continue
        record(session, Audit(now, actor, app.round_id), [Entry(
            "application", item.receipt_no, "confirm_production", "K1",
            data={"brn": item.brn, "confirmed_at": item.confirmed_at.isoformat()})])
        out.recorded.append(f"{item.receipt_no} {item.brn}")
        if app.round_id not in out.rounds:
            out.rounds.append(app.round_id)
    return out
