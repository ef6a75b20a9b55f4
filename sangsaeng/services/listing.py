"""나라장터 종합쇼핑몰 listing support (PROGRAM_RULES M1, M1a–c; INTERFACES §5): the steps the
office records, the dues run's reminders and escalations, and `export listing`.

A step is recorded once per certificate: the same step again with the same date changes
nothing; with another date it is refused and the first record stands (correcting a date is an
office decision, not a re-import). Reminders and escalations are `ListingFollowUp` rows keyed by
the dues run's KST day, so a second run that day finds them and owes nothing again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sangsaeng import crashpoints
from sangsaeng.config import SupportConfig
from sangsaeng.domain.certificates import CertificateStatus, status_on
from sangsaeng.domain.clock import format_day, kst_date
from sangsaeng.domain.companies import Role
from sangsaeng.domain.listing import (
    STEP_NAMES,
    FollowUpKind,
    MallStep,
    Stall,
    escalation_due,
    evidence_problem,
    reminder_due,
    stall_of,
)
from sangsaeng.domain.names import CERTIFICATE_STATUSES, named
from sangsaeng.domain.states import RoundState
from sangsaeng.io.after_selection import ListingInput
from sangsaeng.journal import Audit, Entry, Notice, move_round, owe_notices, record
from sangsaeng.models import (
    APPLICATIONS,
    CERTIFICATES,
    LISTING_FOLLOW_UPS,
    LISTING_STEPS,
    PARTICIPANTS,
    Round,
)
from sangsaeng.reports import to_csv
from sangsaeng.services.outcome import Outcome
from sangsaeng.services.projects import NoProject, project_by_receipt

A, C, P = APPLICATIONS.c, CERTIFICATES.c, PARTICIPANTS.c
LS, LF = LISTING_STEPS.c, LISTING_FOLLOW_UPS.c
DUES_ACTOR = "support_dues"
# INTERFACES §5: `export listing`, one row per certified product, number order.
LISTING_COLUMNS = ("receipt_no", "number", "lead_name", "product_name", "step", "since",
                   "days_in_step", "reminders", "escalated")


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# --- recording steps (M1) -------------------------------------------------------------------

def _refusal(session: Session, item: ListingInput, today: date) -> tuple[Any, str | None]:
    """The lead's certificate for the row, or why the row is refused (no BRN in the text: it
    is logged)."""
    project = project_by_receipt(session, item.receipt_no)
    if isinstance(project, NoProject) and project.rounds:
        return None, str(project)  # in several rounds
    cert = None if isinstance(project, NoProject) else session.execute(
        select(C.number, C.round_id, C.valid_to, C.cancelled_on)
        .where(C.application_id == project.id, C.brn == item.brn)).first()
    if cert is None:  # M1: listing support follows a certificate
        return None, (f"접수번호 {item.receipt_no}의 이 주관기업(receipt_no, brn)에 발급된 "
                      "확인서가 없습니다: 종합쇼핑몰 등록 지원은 확인서가 있어야 받을 수 있습니다")
    status = status_on(today, cert.valid_to, cert.cancelled_on)
    if status is not CertificateStatus.VALID:  # M1: for valid certificates
        return cert, (f"{cert.number} 확인서는 {named(CERTIFICATE_STATUSES, status)} 상태입니다: "
                      "종합쇼핑몰 등록 지원은 유효한 확인서만 받을 수 있습니다")
    problem = evidence_problem(item.step, item.evidence)
    if problem is not None:
        return cert, f"evidence 열, 값 {item.evidence!r}: {problem}"
    if item.done_on > today:
        return cert, (f"{cert.number} 확인서의 {item.step} 단계 완료일(done_on {item.done_on})이 "
                      f"오늘({today}) 이후입니다")
    return cert, None


def record_steps(session: Session, items: Sequence[ListingInput], *, now: datetime,
                 actor: str) -> Outcome:
    """M1: record each step done (any order); refused with why when there is no such
    certificate, it is not valid at the clock, the evidence is wrong (catalog_number: 8
    digits), or the step was recorded already with another date (the first record stands)."""
    out, today = Outcome(), kst_date(now)
    for item in items:
        cert, problem = _refusal(session, item, today)
        if problem is not None:
            out.refuse(item, problem)
            continue
        known = session.scalar(select(LS.done_on).where(LS.number == cert.number,
                                                         LS.step == item.step.value))
        if known == item.done_on:
            out.unchanged.append(f"{cert.number} {item.step}")
            continue
        if known is not None:
            out.refuse(item, f"{cert.number} 확인서의 {item.step} 단계는 이미 {known}에 완료된 "
                             f"것으로 기록되어 있습니다 (이 행: {item.done_on}): 처음 기록이 "
                             "유지됩니다")
            continue
        added = session.execute(_insert(session)(LISTING_STEPS).on_conflict_do_nothing().values(
            number=cert.number, step=item.step.value, done_on=item.done_on,
            evidence=item.evidence, recorded_at=now).returning(LS.id)).first()
        if added is None:  # another import recorded it meanwhile: it is theirs to report
            out.unchanged.append(f"{cert.number} {item.step}")
            continue
        record(session, Audit(now, actor, cert.round_id), [Entry(
            "certificate", cert.number, "listing_step", "M1", item.evidence,
            data={"step": item.step.value, "done_on": item.done_on.isoformat()})])
        out.recorded.append(f"{cert.number} {item.step}")
    return out


# --- each product's checklist at a date (M1, M1a) ---------------------------------------------

@dataclass(frozen=True, slots=True)
class Product:
    """A certified product's listing at a date: its current step's stall (None once listed)
    and the reminders and escalation of that step."""

    receipt_no: str
    number: str
    round_id: str
    lead_name: str
    product_name: str
    email: str
    status: CertificateStatus
    done: dict[str, date]
    stall: Stall | None
    reminded: tuple[date, ...]
    escalated_on: date | None


def _of_round(query: Any, round_id: str | None) -> Any:
    return query if round_id is None else query.where(C.round_id == round_id)


def _follow_ups(session: Session, round_id: str | None
                ) -> dict[tuple[str, str, str], list[date]]:
    found: dict[tuple[str, str, str], list[date]] = {}
    query = select(LF.number, LF.step, LF.kind, LF.on_day).select_from(
        LISTING_FOLLOW_UPS.join(CERTIFICATES, C.number == LF.number)).order_by(LF.on_day)
    for row in session.execute(_of_round(query, round_id)):
        found.setdefault((row.number, row.step, row.kind), []).append(row.on_day)
    return found


def _done(session: Session, round_id: str | None) -> dict[str, dict[str, date]]:
    done: dict[str, dict[str, date]] = {}
    query = select(LS.number, LS.step, LS.done_on).select_from(
        LISTING_STEPS.join(CERTIFICATES, C.number == LS.number))
    for row in session.execute(_of_round(query, round_id)):
        done.setdefault(row.number, {})[row.step] = row.done_on
    return done


def products(session: Session, today: date, round_id: str | None = None) -> list[Product]:
    """Every certificate (of a round, or all) with its M1 checklist at `today`, number order."""
    query = (select(A.receipt_no, C.number, C.round_id, C.lead_name, C.product_name,
                    C.valid_from, C.valid_to, C.cancelled_on, P.email)
             .select_from(CERTIFICATES.join(APPLICATIONS, A.id == C.application_id)
                          .join(PARTICIPANTS, and_(P.application_id == C.application_id,
                                                   P.brn == C.brn, P.role == Role.LEAD)))
             .order_by(C.number))
    done, follow, out = _done(session, round_id), _follow_ups(session, round_id), []
    for c in session.execute(_of_round(query, round_id)):
        steps = done.get(c.number, {})
        stall = stall_of(steps, c.valid_from, today)
        step = "" if stall is None else stall.step.value
        escalated = follow.get((c.number, step, FollowUpKind.ESCALATION), [])
        out.append(Product(c.receipt_no, c.number, c.round_id, c.lead_name, c.product_name,
                           c.email, status_on(today, c.valid_to, c.cancelled_on), steps, stall,
                           tuple(follow.get((c.number, step, FollowUpKind.REMINDER), [])),
                           escalated[0] if escalated else None))
    return out


def begin_support(session: Session, rnd: Round, *, now: datetime, actor: str) -> dict[str, int]:
    """The round's `mall_listing_support` step (R2, M1): once its certificates are issued the
    round moves `certifying → support`, and each valid certificate's listing checklist starts;
    returns how many products stand at each current step (`listed` when done). Before any
    certificate (round `notified`) nothing moves; the daily dues run does the reminders."""
    if rnd.state is RoundState.CERTIFYING:
        move_round(session, rnd, RoundState.SUPPORT, at=now, actor=actor, rule="M1",
                   reason="certificates issued: 종합쇼핑몰 listing support begins")
        crashpoints.reach("mall_listing_support-after-state-moved",
                          "round moved to support, not committed")
    counts: dict[str, int] = {}
    for p in products(session, kst_date(now), rnd.id):
        if p.status is CertificateStatus.VALID:
            step = (MallStep.LISTED if p.stall is None else p.stall.step).value
            counts[step] = counts.get(step, 0) + 1
    return counts


# --- the dues run (M1b, M1c) ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ListingDues:
    """What one dues run did for listing: reminders owed (M1b), steps escalated (M1c)."""

    reminders: int
    escalated: int


def _reminder(p: Product, stall: Stall, today: date) -> Notice:
    return Notice("listing.reminder", "certificate", f"{p.number}:{stall.step}:{today}", p.email,
                  p.lead_name, {"round_id": p.round_id, "certificate_number": p.number,
                                "company_name": p.lead_name, "product_name": p.product_name,
                                "step": STEP_NAMES[stall.step], "stalled_days": stall.days})


def _follow_up(session: Session, p: Product, stall: Stall, kind: FollowUpKind,
               today: date) -> bool:
    """Record a reminder or escalation for today; False when another run recorded it first."""
    added = session.execute(_insert(session)(LISTING_FOLLOW_UPS).on_conflict_do_nothing().values(
        number=p.number, step=stall.step.value, kind=kind, on_day=today,
        days_in_step=stall.days).returning(LF.id)).first()
    return added is not None


def listing_dues(session: Session, support: SupportConfig, now: datetime) -> ListingDues:
    """M1b/M1c, per valid certificate not yet listed: a `listing.reminder` to the lead from
    `listing_reminder_days` in the step (again after as many days), and the step escalated
    once from `listing_escalate_days` (an audit row; the office digest lists it)."""
    today, escalated = kst_date(now), 0
    owed: dict[str, list[Notice]] = {}
    for p in products(session, today):
        stall = p.stall
        if stall is None or p.status is not CertificateStatus.VALID:
            continue
        last = p.reminded[-1] if p.reminded else None
        if reminder_due(stall.days, last, today, support.listing_reminder_days) \
                and _follow_up(session, p, stall, FollowUpKind.REMINDER, today):
            owed.setdefault(p.round_id, []).append(_reminder(p, stall, today))
        if escalation_due(stall.days, p.escalated_on is not None, support.listing_escalate_days) \
                and _follow_up(session, p, stall, FollowUpKind.ESCALATION, today):
            record(session, Audit(now, DUES_ACTOR, p.round_id), [Entry(
                "certificate", p.number, "listing_escalate", "M1c",
                f"{stall.step} stalled {stall.days} days since {stall.since}",
                data={"step": stall.step.value, "since": stall.since.isoformat(),
                      "days": stall.days})])
            escalated += 1
    sent = sum(owe_notices(session, round_id, notices) for round_id, notices in owed.items())
    return ListingDues(sent, escalated)


# --- reads: export listing, the office digest -----------------------------------------------

def csv_row(p: Product) -> list[str]:
    """INTERFACES §5 `export listing`: the current step, its start (M1a), its days (blank
    when the certificate is not valid: no clock runs), the reminders sent for it (M1b) and the
    day it was escalated (M1c, blank if not); `listed` with its date once done."""
    head = [p.receipt_no, p.number, p.lead_name, p.product_name]
    if p.stall is None:
        return [*head, MallStep.LISTED.value, p.done[MallStep.LISTED.value].isoformat(), "",
                "0", ""]
    days = str(p.stall.days) if p.status is CertificateStatus.VALID else ""
    return [*head, p.stall.step.value, p.stall.since.isoformat(), days, str(len(p.reminded)),
            "" if p.escalated_on is None else p.escalated_on.isoformat()]


def listing_csv(session: Session, round_id: str, today: date) -> str:
    """`sangsaeng export listing` (INTERFACES §5) at `today` (KST), UTF-8 BOM, number order."""
    return to_csv(LISTING_COLUMNS, [csv_row(p) for p in products(session, today, round_id)])


def escalated_products(session: Session, today: date) -> list[list[str]]:
    """M1c: the valid products whose current step is escalated, for the office digest."""
    return [[p.number, p.lead_name, p.product_name, STEP_NAMES[p.stall.step],
             format_day(p.stall.since), str(p.stall.days)]
            for p in products(session, today)
            if p.stall is not None and p.escalated_on is not None
            and p.status is CertificateStatus.VALID]
