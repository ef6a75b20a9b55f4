"""Intake (INTERFACES §2): store a round package idempotently; owe the receipt notices."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from sangsaeng import crashpoints
from sangsaeng.domain.clock import format_kst, is_on_time
from sangsaeng.domain.names import PACKAGE_TABLES, ROUND_STATES, named
from sangsaeng.domain.states import ApplicationState, RoundState, round_reached
from sangsaeng.io.package import (
    CriterionSpec,
    RoundPackage,
    RowError,
    read_package,
    read_score_sheet,
)
from sangsaeng.journal import Audit, Entry, Notice, owe_notices, record
from sangsaeng.models import (
    AFFILIATIONS,
    APPLICATIONS,
    DOCUMENTS,
    PARTICIPANTS,
    PRIOR_CERTIFICATES,
    PRODUCTION,
    REVIEWERS,
    SANCTIONS,
    SCORES,
    Affiliation,
    Application,
    Company,
    Document,
    Participant,
    PriorCertificate,
    Reviewer,
    Round,
    Sanction,
    Score,
    table_of,
)
from sangsaeng.progress import report
from sangsaeng.services import production
from sangsaeng.services.outcome import refusal
from sangsaeng.services.round_data import receipt_ids

A = APPLICATIONS.c


@dataclass
class ImportSummary:
    """What an import added, what it found already there, and every rejected row."""

    added: dict[str, int] = field(default_factory=dict)
    corrected: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def total_added(self) -> int:
        """Rows written by this import (new or corrected)."""
        return sum(self.added.values()) + sum(self.corrected.values())


def _stage_open(kind: str, state: RoundState) -> bool:
    """Until which round state new rows of a kind are accepted (none once cancelled)."""
    if state is RoundState.CANCELLED:
        return False
    if kind in ("applications", "participants"):
        return state in (RoundState.DRAFT, RoundState.OPEN)
    if kind == "documents":  # §4.6: supplements arrive until screening is over
        return not round_reached(state, RoundState.REVIEW)
    if kind in ("reviewers", "affiliations", "scores"):
        return not round_reached(state, RoundState.DECIDED)
    return True  # sanctions, prior certificates, production: facts that keep coming


def _stage(state: RoundState) -> str:
    """The round's state as a refusal names it (Korean, `domain.names`)."""
    return named(ROUND_STATES, state)


class _Merger:
    """Splits a file's rows into new, corrected and unchanged against what the DB holds.

    A row whose key was imported before with other values is a correction: applied (and
    audited with both versions) while rows of its kind are still accepted, refused after.
    """

    def __init__(self, summary: ImportSummary, state: RoundState, audit: Audit) -> None:
        self.summary, self.state, self.audit = summary, state, audit
        self.corrections: dict[str, list[tuple[Any, Any, Any]]] = {}  # kind → (key, old, row)

    def split(
        self, kind: str, rows: Iterable[Any], existing: dict[Any, Any],
        key: Callable[[Any], Hashable], value: Callable[[Any], Any],
    ) -> list[Any]:
        fresh: list[Any] = []
        unchanged = 0
        for row in rows:
            k = key(row)
            if k in existing:
                if existing[k] == value(row):
                    unchanged += 1
                elif _stage_open(kind, self.state):
                    self.corrections.setdefault(kind, []).append((k, existing[k], row))
                    existing[k] = value(row)
                else:
                    self.summary.errors.append(RowError(
                        row.file, row.row, None, str(k),
                        f"먼저 가져온 행과 다르지만 회차가 이미 {_stage(self.state)} "
                        f"단계입니다: {named(PACKAGE_TABLES, kind)} 행은 더 이상 고칠 수 "
                        "없습니다",
                    ))
                continue
            if not _stage_open(kind, self.state):
                self.summary.errors.append(RowError(
                    row.file, row.row, None, str(k),
                    f"회차가 이미 {_stage(self.state)} 단계입니다: 새 "
                    f"{named(PACKAGE_TABLES, kind)} 행은 더 이상 받지 않습니다",
                ))
                continue
            existing[k] = value(row)
            fresh.append(row)
        self.summary.added[kind] = len(fresh)
        self.summary.unchanged[kind] = unchanged
        self.summary.corrected[kind] = len(self.corrections.get(kind, []))
        return fresh

    def apply(self, session: Session, kind: str, update_row: Callable[[Any], Any]) -> None:
        """Write the corrections of one kind, each audited with the values before and after."""
        done = self.corrections.get(kind, [])
        for _, _, row in done:
            session.execute(update_row(row))
        record(session, self.audit, (Entry(
            kind.rstrip("s"), str(key), "import.correct", "INTERFACES-2",
            f"{row.file} row {row.row}",
            data={"before": _jsonable(old), "after": _jsonable(_values(row))})
            for key, old, row in done))


def _values(row: Any) -> dict[str, Any]:
    return {f: getattr(row, f) for f in row.__dataclass_fields__ if f not in ("file", "row")}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]], step: str) -> None:
    """Insert new rows through Core (the ORM's bulk path costs ~3x; every column is given)."""
    table = table_of(model)
    for start in range(0, len(rows), 5000):
        session.execute(insert(table), rows[start : start + 5000])
        report(f"  · {step}", min(start + 5000, len(rows)), len(rows))


def read_round_package(session: Session, rnd: Round, path: Path) -> RoundPackage:
    """Read a package for this round, checking it against what the round already holds."""
    known, people = _known(session, rnd)
    return read_package(path, **known, known_participants=people)


def read_round_scores(session: Session, rnd: Round, *, path: Path | None = None,
                      text: str | None = None) -> RoundPackage:
    """V2: read a score sheet alone (file, folder or pasted text) with the package's checks."""
    known, _ = _known(session, rnd)
    return read_score_sheet(path, text=text, **known)


def _known(session: Session, rnd: Round) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """What the round already holds, as the reader checks new rows against it."""
    p = PARTICIPANTS.c
    known_apps = dict(session.execute(select(A.receipt_no, A.track)
                                      .where(A.round_id == rnd.id)).all())
    known_people: dict[str, set[str]] = defaultdict(set)
    for receipt, brn in session.execute(
            select(A.receipt_no, p.brn).select_from(PARTICIPANTS.join(APPLICATIONS))
            .where(A.round_id == rnd.id)):
        known_people[receipt].add(brn)
    reviewers = set(session.execute(select(REVIEWERS.c.reviewer_id)
                                    .where(REVIEWERS.c.round_id == rnd.id)).scalars())
    criteria = {t: [CriterionSpec(c["key"], Decimal(str(c["max"]))) for c in items]
                for t, items in rnd.settings["criteria"].items()}
    return {"tracks": rnd.tracks, "criteria_by_track": criteria,
            "known_applications": known_apps, "known_reviewers": reviewers}, known_people


def import_package(
    session: Session, rnd: Round, package: RoundPackage, *, now: datetime, actor: str,
    action: str = "import", rule: str = "INTERFACES-2",
) -> ImportSummary:
    """Add the package's new rows to the round; re-importing the same package changes nothing.

    `action` and `rule` name the audit row (a score sheet uploaded alone: `scores.upload`, V2).
    """
    summary = ImportSummary(errors=list(package.errors))
    merge = _Merger(summary, rnd.state, Audit(now, actor, rnd.id))
    existing_apps: dict[Any, Any] = {
        r.receipt_no: (r.track, r.product_name, r.product_code, r.submitted_at)
        for r in session.execute(select(A.receipt_no, A.track, A.product_name, A.product_code,
                                        A.submitted_at).where(A.round_id == rnd.id))}
    new_apps = merge.split("applications", package.applications, existing_apps,
                           lambda r: r.receipt_no,
                           lambda r: (r.track, r.product_name, r.product_code, r.submitted_at))
    _bulk(session, Application, [{
        "round_id": rnd.id, "receipt_no": r.receipt_no, "track": r.track,
        "product_name": r.product_name, "product_code": r.product_code,
        "submitted_at": r.submitted_at, "state": ApplicationState.RECEIVED, "reasons": "",
        "missing_documents": [],
    } for r in new_apps], "applications")
    merge.apply(session, "applications", lambda r: update(APPLICATIONS).where(
        A.round_id == rnd.id, A.receipt_no == r.receipt_no).values(
        track=r.track, product_name=r.product_name, product_code=r.product_code,
        submitted_at=r.submitted_at))
    ids = receipt_ids(session, rnd.id)
    crashpoints.reach("intake-after-applications-flushed",
                      f"{len(new_apps)} new application(s) flushed, not committed")
    _import_companies(session, rnd, package, merge, ids)
    _import_review(session, rnd, package, merge, ids)
    _import_facts(session, rnd, package, merge, ids)
    _owe_receipts(session, rnd, new_apps, package, ids)
    if not summary.total_added and not summary.errors:
        return summary  # the same package again: nothing changes, not even the audit trail
    record(session, merge.audit, [Entry(
        "round", rnd.id, action, rule, package.source,
        data={"added": summary.added, "corrected": summary.corrected,
              "unchanged": summary.unchanged, "rejected": len(summary.errors)})])
    return summary


def _participant_value(r: Any) -> tuple[Any, ...]:
    return (r.brn, r.name, r.size, r.founded_on, r.representative, r.email, r.address,
            r.direct_production)


def _import_companies(
    session: Session, rnd: Round, package: RoundPackage, merge: _Merger, ids: dict[str, int]
) -> None:
    by_id = {v: k for k, v in ids.items()}
    existing: dict[Any, Any] = {
        (by_id[r.application_id], r.role, r.seq): _participant_value(r)
        for r in session.execute(select(PARTICIPANTS).select_from(
            PARTICIPANTS.join(APPLICATIONS)).where(A.round_id == rnd.id))}
    fresh = merge.split("participants", package.participants, existing,
                        lambda r: (r.receipt_no, r.role, r.seq), _participant_value)
    corrected = [row for _, _, row in merge.corrections.get("participants", [])]
    known = set(session.execute(select(table_of(Company).c.brn)).scalars())
    latest = {r.brn: r.name for r in [*fresh, *corrected]}
    _bulk(session, Company, [{"brn": b, "name": n} for b, n in latest.items() if b not in known],
          "companies")  # before the participants that refer to them (new or corrected)
    renamed = [{"brn": b, "name": n} for b, n in latest.items() if b in known]
    if renamed:  # C2: the newest verbatim name wins; applications keep their own copy
        session.execute(update(Company), renamed)
    p = PARTICIPANTS.c
    merge.apply(session, "participants", lambda r: update(PARTICIPANTS).where(
        p.application_id == ids[r.receipt_no], p.role == r.role, p.seq == r.seq).values(
        brn=r.brn, name=r.name, size=r.size, founded_on=r.founded_on,
        representative=r.representative, email=r.email, address=r.address,
        direct_production=r.direct_production))
    _bulk(session, Participant, [{
        "application_id": ids[r.receipt_no], "role": r.role, "seq": r.seq, "brn": r.brn,
        "name": r.name, "size": r.size, "founded_on": r.founded_on,
        "representative": r.representative, "email": r.email, "address": r.address,
        "direct_production": r.direct_production,
    } for r in fresh], "participants")
    d = DOCUMENTS.c
    docs: dict[Any, Any] = {
        (by_id[r.application_id], r.brn, r.doc_type, r.submitted_at): True
        for r in session.execute(select(d.application_id, d.brn, d.doc_type, d.submitted_at)
                                 .select_from(DOCUMENTS.join(APPLICATIONS))
                                 .where(A.round_id == rnd.id))}
    new_docs = merge.split("documents", package.documents, docs,
                           lambda r: (r.receipt_no, r.brn, r.doc_type, r.submitted_at),
                           lambda r: True)
    _bulk(session, Document, [{
        "application_id": ids[r.receipt_no], "brn": r.brn, "doc_type": r.doc_type,
        "submitted_at": r.submitted_at,
    } for r in new_docs], "documents")


def _import_review(
    session: Session, rnd: Round, package: RoundPackage, merge: _Merger, ids: dict[str, int]
) -> None:
    rv = REVIEWERS.c
    reviewers: dict[Any, Any] = {r.reviewer_id: (r.name, r.email) for r in session.execute(
        select(rv.reviewer_id, rv.name, rv.email).where(rv.round_id == rnd.id))}
    fresh = merge.split("reviewers", package.reviewers, reviewers, lambda r: r.reviewer_id,
                        lambda r: (r.name, r.email))
    _bulk(session, Reviewer, [{"round_id": rnd.id, "reviewer_id": r.reviewer_id,
                               "name": r.name, "email": r.email} for r in fresh], "reviewers")
    merge.apply(session, "reviewers", lambda r: update(REVIEWERS).where(
        rv.round_id == rnd.id, rv.reviewer_id == r.reviewer_id).values(name=r.name,
                                                                        email=r.email))
    _merge_affiliations(session, rnd, package, merge)
    by_id = {v: k for k, v in ids.items()}
    sc = SCORES.c
    sheets: dict[Any, Any] = {
        (by_id[app_id], reviewer): scores for app_id, reviewer, scores in session.execute(
            select(sc.application_id, sc.reviewer_id, sc.scores)
            .select_from(SCORES.join(APPLICATIONS)).where(A.round_id == rnd.id))}
    new_scores = merge.split("scores", package.scores, sheets,
                             lambda r: (r.receipt_no, r.reviewer_id),
                             lambda r: {k: str(v) for k, v in r.scores.items()})
    _bulk(session, Score, [{
        "application_id": ids[r.receipt_no], "reviewer_id": r.reviewer_id,
        "scores": {k: str(v) for k, v in r.scores.items()}, "excluded": None,
    } for r in new_scores], "scores")
    merge.apply(session, "scores", lambda r: update(SCORES).where(
        sc.application_id == ids[r.receipt_no], sc.reviewer_id == r.reviewer_id).values(
        scores={k: str(v) for k, v in r.scores.items()}))


def _merge_affiliations(session: Session, rnd: Round, package: RoundPackage, merge: _Merger
                        ) -> None:
    """V3: the package lists each reviewer's affiliations completely; a reviewer whose list
    differs from the stored one has it replaced (audited) while reviews are still accepted."""
    af = AFFILIATIONS.c
    stored: dict[str, set[tuple[str, Any]]] = defaultdict(set)
    for reviewer, brn, until in session.execute(
            select(af.reviewer_id, af.brn, af.until).where(af.round_id == rnd.id)):
        stored[reviewer].add((brn, until))
    wanted: dict[str, list[Any]] = defaultdict(list)
    for row in package.affiliations:
        wanted[row.reviewer_id].append(row)
    added = corrected = unchanged = 0
    for reviewer, rows in wanted.items():
        listed = {(r.brn, r.until) for r in rows}
        before = stored.get(reviewer, set())
        if listed == before:
            unchanged += len(rows)
            continue
        if not _stage_open("affiliations", merge.state):
            merge.summary.errors += [RowError(
                r.file, r.row, None, r.reviewer_id, f"회차가 이미 {_stage(merge.state)} "
                "단계입니다: 평가위원의 소속은 더 이상 바꿀 수 없습니다") for r in rows]
            continue
        session.execute(delete(AFFILIATIONS).where(af.round_id == rnd.id,
                                                   af.reviewer_id == reviewer))
        session.execute(insert(Affiliation), [
            {"round_id": rnd.id, "reviewer_id": reviewer, "brn": b, "until": u}
            for b, u in sorted(listed, key=str)])
        if before:
            corrected += 1
            record(session, merge.audit, [Entry(
                "affiliation", reviewer, "import.correct", "V3",
                f"{rows[0].file} row {rows[0].row}",
                data={"before": _jsonable(sorted(before, key=str)),
                      "after": _jsonable(sorted(listed, key=str))})])
        else:
            added += len(listed)
    merge.summary.added["affiliations"] = added
    merge.summary.corrected["affiliations"] = corrected
    merge.summary.unchanged["affiliations"] = unchanged


def _import_facts(
    session: Session, rnd: Round, package: RoundPackage, merge: _Merger, ids: dict[str, int]
) -> None:
    sn = SANCTIONS.c
    sanctions: dict[Any, Any] = {(r.brn, r.banned_until): r.reason for r in session.execute(
        select(sn.brn, sn.banned_until, sn.reason))}
    fresh = merge.split("sanctions", package.sanctions, sanctions,
                        lambda r: (r.brn, r.banned_until), lambda r: r.reason)
    _bulk(session, Sanction, [{"brn": r.brn, "banned_until": r.banned_until, "reason": r.reason}
                              for r in fresh], "sanctions")
    merge.apply(session, "sanctions", lambda r: update(SANCTIONS).where(
        sn.brn == r.brn, sn.banned_until == r.banned_until).values(reason=r.reason))
    pc = PRIOR_CERTIFICATES.c
    certs: dict[Any, Any] = {
        r.number: (r.brn, r.product_code, r.valid_from, r.valid_to)
        for r in session.execute(select(pc.number, pc.brn, pc.product_code, pc.valid_from,
                                        pc.valid_to))}
    new_certs = merge.split("certificates", package.certificates, certs, lambda r: r.number,
                            lambda r: (r.brn, r.product_code, r.valid_from, r.valid_to))
    _bulk(session, PriorCertificate, [{
        "number": r.number, "brn": r.brn, "product_code": r.product_code,
        "valid_from": r.valid_from, "valid_to": r.valid_to} for r in new_certs], "certificates")
    merge.apply(session, "certificates", lambda r: update(PRIOR_CERTIFICATES).where(
        pc.number == r.number).values(brn=r.brn, product_code=r.product_code,
                                       valid_from=r.valid_from, valid_to=r.valid_to))
    _import_production(session, rnd, package, merge, ids)


def _import_production(
    session: Session, rnd: Round, package: RoundPackage, merge: _Merger, ids: dict[str, int]
) -> None:
    """K1: production.csv with the after-selection path's rule set and writer (`production`);
    a row to write (new, or a correction of `confirmed_at`, §2) that the rules refuse is a row
    error, a row already on file as it is stays unchanged."""
    by_id = {v: k for k, v in ids.items()}
    pr = PRODUCTION.c
    prod: dict[Any, Any] = {
        (by_id[r.application_id], r.brn): r.confirmed_at for r in session.execute(
            select(pr.application_id, pr.brn, pr.confirmed_at)
            .select_from(PRODUCTION.join(APPLICATIONS)).where(A.round_id == rnd.id))}
    states = dict(session.execute(select(A.id, A.state).where(A.round_id == rnd.id)).all())
    leads = production.leads_of(session, A.round_id == rnd.id)
    rows = []
    for r in package.production:
        app_id = ids.get(r.receipt_no)  # None: not stored (a round no longer open to it)
        why = None if app_id is None or prod.get((r.receipt_no, r.brn)) == r.confirmed_at \
            else production.refusal(r, states[app_id], leads[app_id])
        if why is None:
            rows.append(r)
        else:
            merge.summary.errors.append(refusal(r, why))
    new_prod = merge.split("production", rows, prod,
                           lambda r: (r.receipt_no, r.brn), lambda r: r.confirmed_at)
    for done, r in enumerate(new_prod, start=1):
        production.store(session, ids[r.receipt_no], r)
        if done % 5000 == 0 or done == len(new_prod):
            report("  · production", done, len(new_prod))
    merge.apply(session, "production", lambda r: update(PRODUCTION).where(
        pr.application_id == ids[r.receipt_no], pr.brn == r.brn).values(
        confirmed_at=r.confirmed_at))


def _owe_receipts(
    session: Session, rnd: Round, new_apps: list[Any], package: RoundPackage,
    ids: dict[str, int],
) -> None:
    """Intake notices: `application.received`, or `application.rejected_late` (T2)."""
    wanted = {r.receipt_no for r in new_apps}
    people: dict[str, list[Any]] = {}
    for p in package.participants:
        if p.receipt_no in wanted:
            people.setdefault(p.receipt_no, []).append(p)
    notices = []
    for app in new_apps:
        late = not is_on_time(app.submitted_at, rnd.closes_at)
        kind = "application.rejected_late" if late else "application.received"
        payload = {"round_id": rnd.id, "round_title": rnd.title, "receipt_no": app.receipt_no,
                   "product_name": app.product_name, "track": app.track,
                   "submitted_at": format_kst(app.submitted_at),
                   "closes_at": format_kst(rnd.closes_at)}
        for p in people.get(app.receipt_no, []):
            notices.append(Notice(kind, "application", app.receipt_no, p.email, p.name,
                                  {**payload, "company_name": p.name, "role": p.role}))
    owe_notices(session, rnd.id, notices)
