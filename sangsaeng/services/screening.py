"""Screening (요건검토, PROGRAM_RULES §4): eligibility, supplement requests, re-check (S1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from sangsaeng import crashpoints
from sangsaeng.domain.clock import format_kst
from sangsaeng.domain.screening import (
    ApplicationFacts,
    ScreeningOutcome,
    ScreeningRules,
    missing_documents,
    screen_round,
)
from sangsaeng.domain.states import ApplicationState, RoundState
from sangsaeng.errors import StepError
from sangsaeng.journal import (
    AppChange,
    Audit,
    Notice,
    move_round,
    record_screening,
    request_supplements,
)
from sangsaeng.models import (
    APPLICATIONS,
    Application,
    Round,
)
from sangsaeng.services.round_data import (
    Person,
    application_facts,
    people_by_application,
    prior_certificates,
    sanctions_by_brn,
    supplement_deadline_of,
)

A = APPLICATIONS.c

PENDING = (ApplicationState.RECEIVED, ApplicationState.SUPPLEMENT_REQUESTED)


@dataclass
class ScreeningSummary:
    """Counts after a screening pass, and whether supplements are still awaited."""

    moved: dict[ApplicationState, int] = field(default_factory=dict)
    waiting: int = 0
    supplement_deadline: datetime | None = None


def rules_of(rnd: Round) -> ScreeningRules:
    """The round's frozen screening rules (R3)."""
    cfg = rnd.settings["screening"]
    return ScreeningRules(
        closes_at=rnd.closes_at,
        supplement_deadline=supplement_deadline_of(rnd),
        startup_years=int(cfg["startup_years"]),
        required_application_documents=tuple(cfg["required_application_documents"]),
        required_lead_documents=tuple(cfg["required_lead_documents"]),
    )


def _notices(kind: str, receipt: str, people: list[Person], payload: dict[str, object]
             ) -> tuple[Notice, ...]:
    return tuple(Notice(kind, "application", receipt, p.email, p.name,
                        {**payload, "company_name": p.name, "role": p.role}) for p in people)


def _payload(app: Application, rnd: Round, reasons: tuple[str, ...],
             missing: tuple[tuple[str, str | None], ...]) -> dict[str, object]:
    return {"round_id": rnd.id, "round_title": rnd.title, "receipt_no": app.receipt_no,
            "product_name": app.product_name, "track": app.track, "reasons": list(reasons),
            "missing_documents": [list(m) for m in missing],
            "supplement_deadline": format_kst(supplement_deadline_of(rnd))}


def _change(app: Application, current: ApplicationState, outcome: ScreeningOutcome,
            people: list[Person], rnd: Round) -> AppChange | None:
    target = outcome.state
    if target is current:
        return None
    reasons = tuple(r.value for r in outcome.reasons)
    payload = _payload(app, rnd, reasons, outcome.missing)
    notices: tuple[Notice, ...] = ()
    if target is ApplicationState.SUPPLEMENT_REQUESTED and outcome.supplement_notice:
        notices = _notices("screening.supplement_requested", app.receipt_no, people, payload)
    elif target is ApplicationState.INELIGIBLE:
        notices = _notices("screening.ineligible", app.receipt_no, people, payload)
    return AppChange(app.id or 0, app.receipt_no, current, target, ";".join(reasons), notices,
                     {"missing_documents": [list(m) for m in outcome.missing]})


def _past_requests(pending: list[Application], outcomes: dict[str, ScreeningOutcome],
                   facts: dict[int, ApplicationFacts], people: dict[int, list[Person]],
                   rnd: Round) -> list[AppChange]:
    """§4.6: documents missing at the close put an application in `supplement_requested` first.
    When screening runs after the supplement deadline (a replay, a late run) the step is still
    recorded, as a live run would have, but no request is owed: its deadline has passed."""
    rules, out = rules_of(rnd), []
    for app in pending:
        outcome = outcomes[app.receipt_no]
        if app.state is not ApplicationState.RECEIVED or outcome.state in PENDING:
            continue
        missing = missing_documents(facts[app.id or 0], rules, as_of=rules.closes_at)
        if not missing:
            continue
        step = ScreeningOutcome(ApplicationState.SUPPLEMENT_REQUESTED, (), missing, False)
        change = _change(app, app.state, step, people.get(app.id or 0, []), rnd)
        if change is not None:
            out.append(change)
    return out


def screen(session: Session, rnd: Round, *, now: datetime, actor: str) -> ScreeningSummary:
    """§4: screen every application not yet decided; safe to re-run (nothing left → no-op)."""
    if rnd.state is RoundState.CLOSED:
        move_round(session, rnd, RoundState.SCREENING, at=now, actor=actor, rule="R2",
                   reason="screening started")
    elif rnd.state is not RoundState.SCREENING:
        if rnd.state in (RoundState.DRAFT, RoundState.OPEN):
            raise StepError(f"round {rnd.id} is {rnd.state}: close intake before screening")
        return ScreeningSummary()  # already past screening: nothing to do
    pending = list(session.execute(select(Application).where(
        A.round_id == rnd.id, A.state.in_(PENDING))).scalars())
    if not pending:
        return ScreeningSummary(supplement_deadline=supplement_deadline_of(rnd))
    facts = application_facts(session, rnd.id)
    outcomes = screen_round(list(facts.values()), rules_of(rnd), sanctions=sanctions_by_brn(
        session), prior_certificates=prior_certificates(session), now=now)
    people = people_by_application(session, rnd.id)
    requests = _past_requests(pending, outcomes, facts, people, rnd)
    by = Audit(now, actor, rnd.id)
    request_supplements(session, by, requests)
    current = {c.application_id: c.to_state for c in requests}
    changes = [c for app in pending if (c := _change(
        app, current.get(app.id or 0, app.state), outcomes[app.receipt_no],
        people.get(app.id or 0, []), rnd)) is not None]
    record_screening(session, by, changes)
    crashpoints.reach("screening-after-verdicts-flushed",
                      f"{len(changes)} verdict(s) flushed, not committed")
    summary = ScreeningSummary(supplement_deadline=supplement_deadline_of(rnd))
    for c in changes:
        summary.moved[c.to_state] = summary.moved.get(c.to_state, 0) + 1
    summary.waiting = sum(1 for app in pending
                          if outcomes[app.receipt_no].state in PENDING)
    return summary


def waiting_applications(session: Session, rnd: Round) -> list[str]:
    """Receipt numbers whose screening is not final yet."""
    return list(session.execute(select(A.receipt_no).where(
        A.round_id == rnd.id, A.state.in_(PENDING))).scalars())
