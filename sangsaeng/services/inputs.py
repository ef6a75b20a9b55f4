"""Inputs the program office gives in the Prefect UI (ARCHITECTURE: human steps): supplement
documents received (§4.6, S1) and committee score sheets uploaded on their own (V2).

Both are safe to give twice: what is already on file is reported unchanged and written once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlmodel import Session

from sangsaeng.domain.clock import as_kst, format_kst
from sangsaeng.domain.names import APPLICATION_STATES, named
from sangsaeng.domain.ordering import natural_key
from sangsaeng.domain.screening import ApplicationFacts, ScreeningRules, missing_documents
from sangsaeng.domain.screening import Document as DocumentFacts
from sangsaeng.domain.states import ApplicationState, RoundState
from sangsaeng.errors import StepError
from sangsaeng.io import values
from sangsaeng.io.sources import RowError
from sangsaeng.journal import Audit, Entry, record
from sangsaeng.models import APPLICATIONS, SCORES, Document, Round
from sangsaeng.services import intake
from sangsaeng.services.outcome import Outcome
from sangsaeng.services.production import not_a_lead
from sangsaeng.services.round_data import application_facts
from sangsaeng.services.screening import rules_of, waiting_applications

A, SC = APPLICATIONS.c, SCORES.c
DocKey = tuple[str, str | None]  # (doc_type, lead BRN or None for the application's own)


@dataclass(frozen=True, slots=True)
class Supplement:
    """§4.6: one supplement document as the office typed it (`brn` only for a lead's document)."""

    receipt_no: str
    doc_type: str
    received_at: datetime
    brn: str = ""
    note: str = ""
    file: str = field(default="", compare=False, kw_only=True)  # a form: no file, no row
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(slots=True)
class Supplemented(Outcome):
    """Per item: recorded (accepted), already on file (unchanged) or refused with the reason;
    the supplement deadline (S1) and what each application still lacks."""

    supplement_deadline: datetime = field(kw_only=True)
    still_missing: dict[str, list[str]] = field(default_factory=dict)  # receipt → documents


def _label(key: DocKey) -> str:
    return key[0] if key[1] is None else f"{key[0]} {key[1]}"


def _check(item: Supplement, state: ApplicationState | None, app: ApplicationFacts | None,
           rules: ScreeningRules, now: datetime) -> DocKey:
    """§4.6/S1: the required document an item supplies; ValueError says why it is refused."""
    if app is None or state is None:
        raise ValueError("알 수 없는 접수번호입니다")
    if state is not ApplicationState.SUPPLEMENT_REQUESTED:
        raise ValueError(f"보완서류를 기다리는 신청이 아닙니다 ({named(APPLICATION_STATES, state)} "
                         "상태)")
    if as_kst(item.received_at) >= as_kst(rules.supplement_deadline):  # S1: strictly before
        raise ValueError(f"{format_kst(item.received_at)}에 접수되어 보완 기한"
                         f"({format_kst(rules.supplement_deadline)}) 전이 아니므로 인정할 수 "
                         "없습니다")
    if item.received_at > now:
        raise ValueError(f"접수 시각(received_at {format_kst(item.received_at)})이 미래입니다")
    return _document_key(item, app, rules)


def _document_key(item: Supplement, app: ApplicationFacts, rules: ScreeningRules) -> DocKey:
    per_lead = item.doc_type in rules.required_lead_documents
    if not per_lead and item.doc_type not in rules.required_application_documents:
        known = (*rules.required_application_documents, *rules.required_lead_documents)
        raise ValueError(f"이 회차에서 요구하는 서류가 아닙니다 ({', '.join(known)})")
    brn = values.optional_brn(item.brn.strip())  # C1: the importer's BRN rule and message
    requested = missing_documents(app, rules, as_of=rules.closes_at)  # §4.6: what was asked
    key: DocKey
    if not per_lead:
        if brn is not None:
            raise ValueError(f"{item.doc_type} 서류는 신청 단위의 서류이므로 "
                             "사업자등록번호(brn)는 비워 두십시오")
        key = (item.doc_type, None)
    elif brn is not None:
        if brn not in {lead.brn for lead in app.leads}:
            raise ValueError(not_a_lead(brn, item.receipt_no))
        key = (item.doc_type, brn)
    else:
        lacking = [b for d, b in requested if d == item.doc_type]
        if len(lacking) > 1:
            raise ValueError(f"주관기업 {len(lacking)}곳의 서류가 빠져 있습니다 "
                             f"({', '.join(map(str, lacking))}): 주관기업의 사업자등록번호를 "
                             "주십시오")
        key = (item.doc_type, lacking[0] if lacking else app.representative_lead.brn)
    if key not in requested:
        asked = ", ".join(_label(k) for k in requested) or "없음"
        raise ValueError(f"{_label(key)} 서류는 요청하지 않았습니다 (마감 때 빠진 서류: {asked})")
    return key


def _on_file(app: ApplicationFacts, key: DocKey, deadline: datetime) -> bool:
    """The document is already there, received in time (S1): accepting it again changes nothing."""
    return any((d.doc_type, d.brn) == key and as_kst(d.submitted_at) < as_kst(deadline)
               for d in app.documents)


def _require_screening(rnd: Round, items: list[Supplement]) -> None:
    """§4.6: supplements belong to screening, and an input gives at least one."""
    if rnd.state is not RoundState.SCREENING:
        raise StepError(f"round {rnd.id} is {rnd.state}: supplements are taken while the round "
                        "is in screening (§4.6)")
    if not items:
        raise StepError("no supplement documents given")


def accept_supplements(session: Session, rnd: Round, items: list[Supplement], *,
                       now: datetime, actor: str) -> Supplemented:
    """§4.6/S1: record supplement documents received for applications waiting for one.

    Each accepted item is a `document` row (as the package import stores it) and an audit row
    (`supplement.received`); a refused item writes nothing; an item already on file is left
    unchanged (no second row, no second audit row). Screening is not run again here: before
    the supplement deadline its outcome cannot change (S1), and the deadline's run re-checks.
    """
    _require_screening(rnd, items)
    rules = rules_of(rnd)
    facts = {f.receipt_no: (app_id, f) for app_id, f in
             application_facts(session, rnd.id).items()}
    states: dict[str, ApplicationState] = dict(session.execute(
        select(A.receipt_no, A.state).where(A.round_id == rnd.id)).all())
    out = Supplemented(supplement_deadline=rules.supplement_deadline)
    rows: list[dict[str, object]] = []
    events: list[Entry] = []
    for number, item in enumerate(items, start=1):
        label = f"항목 {number} ({item.receipt_no} {item.doc_type})"
        entry = facts.get(item.receipt_no)
        try:
            key = _check(item, states.get(item.receipt_no),
                         entry[1] if entry else None, rules, now)
        except ValueError as exc:
            out.refuse(item, f"{label}: {exc}")
            continue
        assert entry is not None
        app_id, app = entry
        if _on_file(app, key, rules.supplement_deadline):
            out.unchanged.append(f"{label}: 이미 제출되어 있습니다")
            continue
        document = DocumentFacts(key[1], key[0], item.received_at)
        facts[item.receipt_no] = (app_id, replace(app, documents=(*app.documents, document)))
        rows.append({"application_id": app_id, "brn": key[1], "doc_type": key[0],
                     "submitted_at": item.received_at})
        events.append(Entry(
            "application", item.receipt_no, "supplement.received", "§4.6/S1",
            item.note or f"{_label(key)} 보완서류 접수",
            data={"doc_type": key[0], "brn": key[1],
                  "received_at": item.received_at.isoformat()}))
        out.recorded.append(f"{label}: {format_kst(item.received_at)} 접수")
    if rows:
        session.execute(insert(Document), rows)
        record(session, Audit(now, actor, rnd.id), events)
    out.still_missing = _still_missing(
        {i.receipt_no for i in items if i.receipt_no in facts}, facts, states, rules)
    return out


def _still_missing(receipts: set[str], facts: dict[str, tuple[int, ApplicationFacts]],
                   states: dict[str, ApplicationState], rules: ScreeningRules
                   ) -> dict[str, list[str]]:
    """S1: what each application waiting for supplements still lacks, as labels."""
    return {receipt: [_label(k) for k in missing_documents(
                facts[receipt][1], rules, as_of=rules.supplement_deadline)]
            for receipt in sorted(receipts, key=natural_key)
            if states.get(receipt) is ApplicationState.SUPPLEMENT_REQUESTED}


# R2: the committee reviews screened applications; once decided, the scores are frozen (V10).
REVIEW_STAGE = (RoundState.SCREENING, RoundState.REVIEW)


@dataclass
class ScoreUpload:
    """What a score-sheet upload stored, every rejected row, and whether the review may run."""

    source: str
    added: int
    corrected: int
    unchanged: int
    errors: list[RowError]
    screening_final: bool
    sheets_digest: str


def upload_scores(session: Session, rnd: Round, *, path: Path | None = None,
                  text: str | None = None, now: datetime, actor: str) -> ScoreUpload:
    """V2: store a score sheet given alone (file or pasted text) with the package import's
    reader and merge: good rows kept, bad rows reported; the same sheet again changes nothing."""
    if rnd.state not in REVIEW_STAGE:
        raise StepError(f"round {rnd.id} is {rnd.state}: score sheets are taken while the round "
                        "is in screening or review (after the decision they are frozen, V10)")
    package = intake.read_round_scores(session, rnd, path=path, text=text)
    summary = intake.import_package(session, rnd, package, now=now, actor=actor,
                                    action="scores.upload", rule="V2")
    return ScoreUpload(
        source=package.source, added=summary.added.get("scores", 0),
        corrected=summary.corrected.get("scores", 0),
        unchanged=summary.unchanged.get("scores", 0), errors=summary.errors,
        screening_final=not waiting_applications(session, rnd),
        sheets_digest=_sheets_digest(session, rnd))


def _sheets_digest(session: Session, rnd: Round) -> str:
    """A fingerprint of the round's stored score sheets: equal iff nothing changed."""
    sheets = sorted((receipt, reviewer, sorted(scores.items())) for receipt, reviewer, scores in
                    session.execute(select(A.receipt_no, SC.reviewer_id, SC.scores)
                                    .select_from(SCORES.join(APPLICATIONS))
                                    .where(A.round_id == rnd.id)))
    return hashlib.sha256(json.dumps(sheets, ensure_ascii=False).encode()).hexdigest()[:16]
