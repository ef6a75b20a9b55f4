"""Performance evaluations (성과평가) of selected projects — PROGRAM_RULES M3, and the K5
cancellation a failed one proposes.

- Results come from `evaluations.csv` or the `record_evaluation` form: one per (project, kind,
  day held); recording the same row again changes nothing.
- A `fail` of an interim or completion evaluation records a `PendingCancellation` (audited);
  nothing is cancelled until the office confirms it (`decide_pending` → K5 `cancel`).
- The dues run's part: `evaluation.due` to the leads and the office 30 days before each due
  date (completion: on valid_to + 1 day) until a result is recorded; the outbox key
  (receipt:kind:due date, per recipient) makes it once per due date and idempotent per day.

The selection date is the day of release (A2), read from the audit trail: the KST day of the
round's transition to `notified` (stored nowhere else, so one source of truth).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from sangsaeng.config import ProgramConfig
from sangsaeng.domain.certificates import CertificateStatus, Ground
from sangsaeng.domain.clock import format_day, kst_date
from sangsaeng.domain.companies import Role
from sangsaeng.domain.evaluations import (
    KIND_NAMES,
    PROPOSES_CANCELLATION,
    Due,
    EvaluationKind,
    EvaluationResult,
    ProposalState,
    reminders_due,
)
from sangsaeng.domain.names import APPLICATION_STATES, named
from sangsaeng.domain.states import ApplicationState, RoundState
from sangsaeng.io.after_selection import CancellationInput, EvaluationInput
from sangsaeng.journal import Audit, Entry, Notice, owe_notices, record
from sangsaeng.models import (
    APPLICATIONS,
    AUDIT,
    CERTIFICATES,
    EVALUATIONS,
    PARTICIPANTS,
    PENDING_CANCELLATIONS,
    Evaluation,
    PendingCancellation,
)
from sangsaeng.services import cancellations
from sangsaeng.services.outcome import Outcome
from sangsaeng.services.projects import NoProject, project_by_receipt

A, C, P, E, PC, AU = (APPLICATIONS.c, CERTIFICATES.c, PARTICIPANTS.c, EVALUATIONS.c,
                      PENDING_CANCELLATIONS.c, AUDIT.c)


@dataclass(slots=True)
class Evaluated(Outcome):
    """What a batch of evaluation results did; `pending` lists the receipts whose failed
    evaluation now proposes a cancellation (M3)."""

    pending: list[str] = field(default_factory=list)


def _refusal(session: Session, item: EvaluationInput) -> tuple[int, str] | str:
    """The application (id, round) an evaluation is about, or why it is refused (M3: only a
    selected project holding a certificate is evaluated)."""
    app = project_by_receipt(session, item.receipt_no)
    if isinstance(app, NoProject):
        return str(app)
    if app.state is not ApplicationState.SELECTED:  # M3: only a selected project
        return (f"접수번호 {item.receipt_no}의 신청은 {named(APPLICATION_STATES, app.state)} "
                "상태입니다: 선정된 과제만 성과평가를 받습니다")
    if session.scalar(select(func.count()).where(C.application_id == app.id)) == 0:  # M3
        return (f"접수번호 {item.receipt_no}의 확인서가 없습니다: 확인서가 발급되기 전에는 "
                "성과평가를 하지 않습니다")
    return app.id, app.round_id


def record_evaluations(session: Session, items: Sequence[EvaluationInput], *, now: datetime,
                       actor: str) -> Evaluated:
    """M3: record each result (audited); a fail of an interim or completion evaluation also
    records a pending K5 cancellation (audited), never a cancellation itself."""
    out = Evaluated()
    for item in items:
        app = _refusal(session, item)
        if isinstance(app, str):
            out.refuse(item, app)
            continue
        known = session.execute(select(E.result).where(
            E.application_id == app[0], E.kind == item.kind, E.held_on == item.held_on)).first()
        if known is not None:
            if known.result == item.result:
                out.unchanged.append(item.receipt_no)
            else:
                out.refuse(item, f"접수번호 {item.receipt_no}의 {item.held_on} {item.kind} "
                                 f"평가는 이미 {known.result}로 기록되어 있습니다 (처음 기록이 "
                                 "유지됩니다)")
            continue
        _record_one(session, item, app, now, actor, out)
    return out


def _record_one(session: Session, item: EvaluationInput, app: tuple[int, str], now: datetime,
                actor: str, out: Evaluated) -> None:
    evaluation = Evaluation(application_id=app[0], kind=item.kind, held_on=item.held_on,
                            result=item.result, note=item.note)
    session.add(evaluation)
    session.flush()
    entries = [Entry("application", item.receipt_no, "evaluation", "M3", item.note, data={
        "kind": str(item.kind), "held_on": item.held_on.isoformat(),
        "result": str(item.result)})]
    if item.result is EvaluationResult.FAIL and item.kind in PROPOSES_CANCELLATION:
        assert evaluation.id is not None
        session.add(PendingCancellation(application_id=app[0], evaluation_id=evaluation.id,
                                        ground=Ground.FAILED_EVALUATION,
                                        proposed_on=kst_date(now)))
        entries.append(Entry("application", item.receipt_no, "propose_cancellation", "M3",
                             f"{item.kind} evaluation failed on {item.held_on}",
                             to_state=ProposalState.PENDING,
                             data={"ground": Ground.FAILED_EVALUATION.value}))
        out.pending.append(item.receipt_no)
    record(session, Audit(now, actor, app[1]), entries)
    out.recorded.append(item.receipt_no)


def selection_dates(session: Session) -> dict[str, date]:
    """A2/M3: each released round's selection date — the KST day of its move to `notified`."""
    rows = session.execute(select(AU.round_id, func.min(AU.at)).where(
        AU.entity == "round", AU.action == "transition", AU.to_state == RoundState.NOTIFIED)
        .group_by(AU.round_id)).all()
    return {round_id: kst_date(at) for round_id, at in rows}


def evaluation_dues(session: Session, program: ProgramConfig, today: date) -> int:
    """M3: `evaluation.due` to each lead and the office for every evaluation in its reminder
    window without a result; once per (project, kind, due date). Returns the notices owed."""
    selected_on = selection_dates(session)
    projects = session.execute(
        select(A.id, A.receipt_no, A.round_id, A.product_name, func.max(C.valid_to))
        .join(CERTIFICATES, C.application_id == A.id)
        .where(C.status == CertificateStatus.VALID, A.state == ApplicationState.SELECTED)
        .group_by(A.id, A.receipt_no, A.round_id, A.product_name).order_by(A.receipt_no)).all()
    held: dict[int, dict[EvaluationKind, list[date]]] = {}
    for app_id, kind, day in session.execute(select(E.application_id, E.kind, E.held_on)):
        held.setdefault(app_id, {}).setdefault(EvaluationKind(kind), []).append(day)
    owed = 0
    for app_id, receipt_no, round_id, product, valid_to in projects:
        if round_id not in selected_on:
            continue
        dues = reminders_due(selected_on[round_id], valid_to, today, held.get(app_id, {}))
        if dues:
            owed += owe_notices(session, round_id, _due_notices(
                session, program, (app_id, receipt_no, round_id, product, valid_to), dues,
                today))
    return owed


def _due_notices(session: Session, program: ProgramConfig,
                 project: tuple[int, str, str, str, date], dues: list[Due], today: date
                 ) -> list[Notice]:
    """M3: one `evaluation.due` per due evaluation to each lead and to the office."""
    app_id, receipt_no, round_id, product, valid_to = project
    leads = [(email, name) for email, name in session.execute(select(P.email, P.name).where(
        P.application_id == app_id, P.role == Role.LEAD).order_by(P.seq))]
    to = [*leads, (program.program.office_email, program.program.office_name)]
    companies = ", ".join(name for _, name in leads)
    return [Notice("evaluation.due", "application", f"{receipt_no}:{d.kind}:{d.due_on}", email,
                   name, {"round_id": round_id, "receipt_no": receipt_no,
                          "company_name": companies, "product_name": product,
                          "kind": str(d.kind), "kind_name": KIND_NAMES[d.kind],
                          "due_on": format_day(d.due_on), "valid_to": format_day(valid_to),
                          "days_left": (d.due_on - today).days})
            for d in dues for email, name in to]


@dataclass(frozen=True, slots=True)
class Pending:
    """M3: a cancellation proposed by a failed evaluation, as the office decides it."""

    id: int
    receipt_no: str
    round_id: str
    product_name: str
    kind: EvaluationKind
    held_on: date
    note: str
    proposed_on: date


def pending_cancellations(session: Session, receipt_no: str | None = None) -> list[Pending]:
    """M3: the proposed cancellations still waiting for the office (of one receipt, or all)."""
    query = (select(PC.id, A.receipt_no, A.round_id, A.product_name, E.kind, E.held_on, E.note,
                    PC.proposed_on)
             .join(APPLICATIONS, A.id == PC.application_id)
             .join(EVALUATIONS, E.id == PC.evaluation_id)
             .where(PC.state == ProposalState.PENDING).order_by(A.receipt_no, PC.id))
    if receipt_no is not None:
        query = query.where(A.receipt_no == receipt_no)
    return [Pending(*row) for row in session.execute(query)]


def decide_pending(session: Session, pending: Pending, *, confirm: bool, reason: str,
                   decided_by: str, now: datetime) -> cancellations.Cancelled | None:
    """M3/K5: the office's decision. Confirm: K5 `cancel` on ground `failed_evaluation`, decided
    on the clock's KST date; dismiss: nothing cancelled. Either way the pending row records the
    decision (audited). Returns what K5 did (None when dismissed)."""
    day, actor = kst_date(now), f"office:{decided_by}"
    done = cancellations.cancel(session, [CancellationInput(
        pending.receipt_no, Ground.FAILED_EVALUATION, day, reason)], now=now, actor=actor) \
        if confirm else None
    state = ProposalState.CONFIRMED if confirm else ProposalState.DISMISSED
    session.execute(PENDING_CANCELLATIONS.update().where(PC.id == pending.id).values(
        state=state, decided_on=day, decided_by=decided_by, reason=reason))
    record(session, Audit(now, actor, pending.round_id), [Entry(
        "application", pending.receipt_no, f"cancellation_{state}", "M3", reason,
        from_state=ProposalState.PENDING, to_state=state,
        data={"kind": pending.kind, "held_on": pending.held_on.isoformat()})])
    return done
