"""Selection notice (PROGRAM_RULES V10, §6): release approved decisions to the applicants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from sangsaeng import crashpoints
from sangsaeng.domain.states import ApplicationState, RoundState
from sangsaeng.journal import AppChange, Audit, Notice, move_round, release_decisions
from sangsaeng.models import (
    APPLICATIONS,
    DECISIONS,
    Application,
    Decision,
    Round,
)
from sangsaeng.services.round_data import people_by_application

A = APPLICATIONS.c
DC = DECISIONS.c


def release(session: Session, rnd: Round, *, now: datetime, actor: str
            ) -> dict[ApplicationState, int]:
    """decided → notified: every eligible application takes its approved status; notices owed."""
    if rnd.state is not RoundState.DECIDED:
        return {}
    people = people_by_application(session, rnd.id)
    rows = session.execute(
        select(Application, Decision).join(Decision, DC.application_id == A.id)
        .where(A.round_id == rnd.id, A.state == ApplicationState.ELIGIBLE)).all()
    changes: list[AppChange] = []
    counts: dict[ApplicationState, int] = {}
    for app, decision in rows:
        status = decision.pending_state
        counts[status] = counts.get(status, 0) + 1
        payload = {"round_id": rnd.id, "round_title": rnd.title, "receipt_no": app.receipt_no,
                   "product_name": app.product_name, "track": app.track,
                   "score": str(decision.score) if decision.score is not None else None,
                   "rank": decision.rank, "reasons": list(filter(None,
                                                                 decision.reasons.split(";")))}
        notices = tuple(Notice(f"selection.{status}", "application", app.receipt_no, p.email,
                               p.name, {**payload, "company_name": p.name, "role": p.role})
                        for p in people.get(app.id or 0, []))
        changes.append(AppChange(app.id or 0, app.receipt_no, app.state, status,
                                 decision.reasons, notices))
    release_decisions(session, Audit(now, actor, rnd.id), changes)
    move_round(session, rnd, RoundState.NOTIFIED, at=now, actor=actor, rule="V10",
               reason="selection released")
    crashpoints.reach("selection_notice-after-decisions-released",
                      f"{len(changes)} decision(s) released, not committed")
    return counts
