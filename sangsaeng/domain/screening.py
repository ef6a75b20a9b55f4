"""Eligibility screening (요건검토) — PROGRAM_RULES §4 and S1."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from sangsaeng.domain.clock import as_kst, business_days_after, is_on_time, kst_date
from sangsaeng.domain.companies import Role, Size, Track, is_large, is_startup
from sangsaeng.domain.ordering import natural_key
from sangsaeng.domain.states import ApplicationState

MissingDocs = tuple[tuple[str, str | None], ...]


class Reason(StrEnum):
    """§4: ineligibility reasons, declared in report order."""

    LATE = "LATE"
    LEAD_NOT_SME = "LEAD_NOT_SME"
    INNOVATION_LEAD_NOT_STARTUP_OR_SMALL = "INNOVATION_LEAD_NOT_STARTUP_OR_SMALL"
    INNOVATION_PARTNER_NO_DIRECT_PRODUCTION = "INNOVATION_PARTNER_NO_DIRECT_PRODUCTION"
    SANCTIONED = "SANCTIONED"
    MISSING_DOCUMENTS = "MISSING_DOCUMENTS"
    DUPLICATE_PRODUCT = "DUPLICATE_PRODUCT"


_REASON_ORDER = {reason: i for i, reason in enumerate(Reason)}


@dataclass(frozen=True, slots=True)
class Participant:
    """C5: a lead or partner company of one application."""

    role: Role
    seq: int
    brn: str
    size: Size
    founded_on: date
    direct_production: bool  # §4.4 직접생산확인


@dataclass(frozen=True, slots=True)
class Document:
    """A submitted document; `brn` None means an application-level document."""

    brn: str | None
    doc_type: str
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class ApplicationFacts:
    """Everything screening needs to know about one application (C5)."""

    receipt_no: str
    track: str
    product_code: str
    submitted_at: datetime
    participants: tuple[Participant, ...]
    documents: tuple[Document, ...]

    @property
    def leads(self) -> tuple[Participant, ...]:
        """Lead companies (주관기업) by seq."""
        return tuple(sorted((p for p in self.participants if p.role == Role.LEAD), key=_seq))

    @property
    def partners(self) -> tuple[Participant, ...]:
        """Partner companies (협력기업) by seq."""
        return tuple(sorted((p for p in self.participants if p.role == Role.PARTNER), key=_seq))

    @property
    def representative_lead(self) -> Participant:
        """C5: the lead with the lowest seq (normally 1); ValueError if there is no lead."""
        leads = self.leads
        if not leads:
            raise ValueError(f"application {self.receipt_no} has no lead company")
        return leads[0]


def _seq(participant: Participant) -> int:
    return participant.seq


@dataclass(frozen=True, slots=True)
class PriorCertificate:
    """A certificate (K1) from an earlier round, for the §4.7 duplicate check."""

    brn: str
    product_code: str
    valid_from: date
    valid_to: date


@dataclass(frozen=True, slots=True)
class ScreeningRules:
    """The round's screening settings (§4, S1, C4; [A] values come from config)."""

    closes_at: datetime
    supplement_deadline: datetime
    startup_years: int
    required_application_documents: tuple[str, ...]
    required_lead_documents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScreeningOutcome:
    """Result of screening one application.

    `supplement_notice` says a 보완요청 notice is owed (documents missing at the close and no
    other reason already makes the application ineligible).
    """

    state: ApplicationState
    reasons: tuple[Reason, ...]
    missing: MissingDocs
    supplement_notice: bool


def missing_documents(
    app: ApplicationFacts, rules: ScreeningRules, *, as_of: datetime
) -> MissingDocs:
    """§4.6: required (doc_type, brn) pairs with no document submitted strictly before `as_of`."""
    earliest: dict[tuple[str, str | None], datetime] = {}
    for doc in app.documents:
        key = (doc.doc_type, doc.brn)
        at = as_kst(doc.submitted_at)  # T1: a naive timestamp means KST
        if key not in earliest or at < earliest[key]:
            earliest[key] = at
    deadline = as_kst(as_of)
    # §4.6: application documents first, then each lead's documents by seq.
    wanted: list[tuple[str, str | None]] = [
        (doc_type, None) for doc_type in rules.required_application_documents
    ]
    wanted += [
        (doc_type, lead.brn) for lead in app.leads for doc_type in rules.required_lead_documents
    ]
    return tuple(key for key in wanted if key not in earliest or earliest[key] >= deadline)


def supplement_deadline(
    closes_at: datetime,
    business_days: int,
    extra_holidays: Iterable[date],
    closing_time: time | None = None,
) -> datetime:
    """S1/T4: `business_days` business days after the closing date, at the round's closing
    clock time (`closes_at` in KST) unless `closing_time` says otherwise."""
    return business_days_after(closes_at, business_days, extra_holidays, at=closing_time)


def certified_products(certs: Iterable[PriorCertificate], on: date) -> frozenset[tuple[str, str]]:
    """§4.7: (brn, product_code) pairs holding a certificate valid on `on` (bounds inclusive)."""
    return frozenset(
        (cert.brn, cert.product_code) for cert in certs if cert.valid_from <= on <= cert.valid_to
    )


def duplicate_receipts(apps: Iterable[ApplicationFacts]) -> frozenset[str]:
    """§4.7: receipts repeating the (representative lead, product) of a smaller receipt number."""
    first: dict[tuple[str, str], str] = {}
    keyed: list[tuple[str, tuple[str, str]]] = []
    for app in apps:
        key = (app.representative_lead.brn, app.product_code)
        keyed.append((app.receipt_no, key))
        held = first.get(key)
        if held is None or natural_key(app.receipt_no) < natural_key(held):
            first[key] = app.receipt_no
    return frozenset(receipt for receipt, key in keyed if first[key] != receipt)


def _other_reasons(
    app: ApplicationFacts,
    rules: ScreeningRules,
    sanctions: Mapping[str, date],
    certified: frozenset[tuple[str, str]],
    is_duplicate: bool,
) -> list[Reason]:
    """§4 reasons 1–5 and 7 (everything except missing documents)."""
    reasons: list[Reason] = []
    leads = app.leads
    if not is_on_time(app.submitted_at, rules.closes_at):
        reasons.append(Reason.LATE)  # §4.1 / T2
    if any(is_large(lead.size) for lead in leads):
        reasons.append(Reason.LEAD_NOT_SME)  # §4.2 / C3
    if app.track == Track.INNOVATION:
        if any(
            lead.size not in (Size.MICRO, Size.SMALL)
            and not is_startup(lead.founded_on, rules.closes_at, rules.startup_years)
            for lead in leads
        ):
            reasons.append(Reason.INNOVATION_LEAD_NOT_STARTUP_OR_SMALL)  # §4.3 / C4
        if not any(partner.direct_production for partner in app.partners):
            reasons.append(Reason.INNOVATION_PARTNER_NO_DIRECT_PRODUCTION)  # §4.4
    close_day = kst_date(rules.closes_at)
    if any(p.brn in sanctions and sanctions[p.brn] >= close_day for p in app.participants):
        reasons.append(Reason.SANCTIONED)  # §4.5: ban still running on the closing date
    if is_duplicate or (app.representative_lead.brn, app.product_code) in certified:
        reasons.append(Reason.DUPLICATE_PRODUCT)  # §4.7
    return reasons


def screen_application(
    app: ApplicationFacts,
    rules: ScreeningRules,
    *,
    sanctions: Mapping[str, date],
    certified: frozenset[tuple[str, str]],
    is_duplicate: bool,
    now: datetime,
) -> ScreeningOutcome:
    """§4/S1: screen one application as things stand at `now`."""
    reasons = _other_reasons(app, rules, sanctions, certified, is_duplicate)
    missing = missing_documents(app, rules, as_of=rules.closes_at)
    if not missing:
        return _outcome(reasons, (), supplement_notice=False)
    # §4.6: a 보완요청 is owed unless another reason already makes it ineligible.
    notice = not reasons
    if as_kst(now) < as_kst(rules.supplement_deadline):
        return ScreeningOutcome(
            ApplicationState.SUPPLEMENT_REQUESTED, _ordered(reasons), missing, notice
        )
    # S1: only documents received strictly before the supplement deadline count.
    missing = missing_documents(app, rules, as_of=rules.supplement_deadline)
    if missing:
        reasons.append(Reason.MISSING_DOCUMENTS)
    return _outcome(reasons, missing, supplement_notice=notice)


def _ordered(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    return tuple(sorted(set(reasons), key=_REASON_ORDER.__getitem__))


def _outcome(
    reasons: Sequence[Reason], missing: MissingDocs, *, supplement_notice: bool
) -> ScreeningOutcome:
    # §4: any reason ⇒ ineligible.
    state = ApplicationState.INELIGIBLE if reasons else ApplicationState.ELIGIBLE
    return ScreeningOutcome(state, _ordered(reasons), missing, supplement_notice)


def screen_round(
    apps: Sequence[ApplicationFacts],
    rules: ScreeningRules,
    *,
    sanctions: Mapping[str, date],
    prior_certificates: Iterable[PriorCertificate],
    now: datetime,
) -> dict[str, ScreeningOutcome]:
    """§4/S1: screen every application of a round at `now`, keyed by receipt number."""
    seen: set[str] = set()
    for app in apps:
        if app.receipt_no in seen:
            raise ValueError(f"receipt number {app.receipt_no} appears twice (C5)")
        seen.add(app.receipt_no)
    # §4.7: certificates count when valid on the closing date (KST).
    certified = certified_products(prior_certificates, kst_date(rules.closes_at))
    duplicates = duplicate_receipts(apps)
    return {
        app.receipt_no: screen_application(
            app,
            rules,
            sanctions=sanctions,
            certified=certified,
            is_duplicate=app.receipt_no in duplicates,
            now=now,
        )
        for app in apps
    }
