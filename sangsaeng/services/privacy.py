"""파기: personal data destroyed once its period has passed (issue 27 item 4; docs/privacy.md §4).

`plan` finds what is due on a KST day (domain/retention.py gives the periods); `destroy`
overwrites it in the program database in one transaction, with an audit row per round (and one
for what belongs to no round) and a 파기 row in the access log; `remove_files` then deletes the
copies on disk (certificate PDFs, `.eml` files, uploaded packages) and re-renders the exports
that named the people; `compact` makes the database let go of the old bytes (SQLite: VACUUM and
a WAL checkpoint; PostgreSQL: VACUUM of the tables touched).

Kept, because statistics and the audit need them: applications, receipt numbers, decisions,
scores, companies' names and BRNs, certificate numbers and their public facts, the outbox's
kinds and states, the audit trail (never edited).

Each part finds its due data from dates and what is still there, so a run that stopped halfway
(after the commit, before the files) is finished by the next one.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, String, cast, delete, func, literal, or_, select, text, update
from sqlmodel import Session

from sangsaeng import blobs
from sangsaeng.config import PrivacyConfig
from sangsaeng.db import session_scope
from sangsaeng.domain import retention
from sangsaeng.domain.access import AccessAction
from sangsaeng.domain.certificates import CertificateStatus, ReissueField
from sangsaeng.domain.clock import KST, kst_date
from sangsaeng.domain.outbox import OutboxState
from sangsaeng.domain.retention import KIND_NAMES, Kind, Periods
from sangsaeng.domain.states import ROUND_ORDER, ApplicationState, RoundState
from sangsaeng.exports import certificates_csv, write_bytes_atomically
from sangsaeng.journal import Audit, Entry, record
from sangsaeng.mail.embedded import MailFolder
from sangsaeng.models import (
    ACCESS_LOG,
    APPLICATIONS,
    CANCELLATIONS,
    CERTIFICATE_VERSIONS,
    CERTIFICATES,
    MAIL_BODIES,
    OUTBOX,
    PARTICIPANTS,
    REVIEWERS,
    ROUNDS,
    STORED_FILES,
    SUPPRESSIONS,
)
from sangsaeng.services import access, uploads
from sangsaeng.settings import Settings

A, P, C, CV = APPLICATIONS.c, PARTICIPANTS.c, CERTIFICATES.c, CERTIFICATE_VERSIONS.c
R, RV, OB, MB, MS, AL = (ROUNDS.c, REVIEWERS.c, OUTBOX.c, MAIL_BODIES.c, SUPPRESSIONS.c,
                         ACCESS_LOG.c)
SF = STORED_FILES.c
CHUNK = 500  # ids per UPDATE (SQLite's bound parameters, PostgreSQL's plan size)
PURGED_RECIPIENT = "파기#"  # + the outbox row's id: the unique key still holds, no address left
# A round's applications are decided once its selection is released (or the call withdrawn):
# before that, none of them is "not selected" yet.
DECIDED_ROUNDS = (*ROUND_ORDER[ROUND_ORDER.index(RoundState.NOTIFIED):], RoundState.CANCELLED)
SELECTED_STATES = (ApplicationState.SELECTED, ApplicationState.CANCELLED)  # K5: was selected
PERSONAL_CERTIFICATE_FIELDS = ("representative", "address")
PERSONAL_CHANGES = {ReissueField.REPRESENTATIVE.value, ReissueField.ADDRESS.value}
REASON = "보관 기간이 지난 개인정보 파기"
# kept uploads that hold personal data (the round files the create form writes hold none)
UPLOAD_KINDS = tuple(kind.value for kind in uploads.Kind)
TABLES = ("participant", "certificate", "certificateversion", "reviewer", "outboxmessage",
          "mailbody", "mailsuppression", "accesslog", "storedfile", "keptupload")


@dataclass(frozen=True)
class Due:
    """One line of the plan: a kind of data, its round (None: no round's), how much and since
    when it is past its period."""

    kind: Kind
    round_id: str | None
    count: int
    since: date | None = None
    detail: str = ""

    def line(self) -> str:
        """Korean, one line: `2022-2  선정되지 않은 신청  24건 (2025-05-27부터 보관 기간 경과)`."""
        unit = {Kind.REVIEWERS: "명", Kind.MAIL_FILES: "개",
                Kind.CERTIFICATE_PDFS: "개", Kind.ACCESS_LOG: "개월"}.get(self.kind, "건")
        since = f" ({self.since.isoformat()}부터 보관 기간 경과)" if self.since else ""
        detail = f": {self.detail}" if self.detail else ""
        return (f"{self.round_id or '-'}  {KIND_NAMES[self.kind]} {self.count:,}{unit}"
                f"{since}{detail}")


@dataclass
class Plan:
    """What is past its period on `today` (KST), and where it is."""

    today: date
    periods: Periods
    round_until: dict[str, date] = field(default_factory=dict)  # round → its data's end
    applications: dict[str, dict[int, tuple[str, Kind, date]]] = field(
        default_factory=lambda: defaultdict(dict))  # round → id → (receipt, kind, until)
    # round → the due applications that still hold personal fields (not destroyed before)
    personal: dict[str, set[int]] = field(default_factory=dict)
    reviewers: dict[str, int] = field(default_factory=dict)  # round → members still named
    outbox: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    outbox_since: dict[str, date] = field(default_factory=dict)
    suppressions: list[str] = field(default_factory=list)
    access_months: list[str] = field(default_factory=list)
    # round → its uploads (in the inbox here, or kept in the database: blobs.py) by name
    packages: dict[str, set[str]] = field(default_factory=dict)
    pdfs: dict[str, list[Path]] = field(default_factory=dict)  # round → files here
    pdf_blobs: dict[str, dict[str, str]] = field(default_factory=dict)  # round → file → sha
    mail_files: list[Path] = field(default_factory=list)

    def receipts(self, round_id: str) -> list[str]:
        """The receipt numbers whose personal fields go in `round_id`."""
        apps = self.applications.get(round_id, {})
        return sorted(apps[i][0] for i in self.personal.get(round_id, ()))

    def lines(self) -> list[Due]:
        """The plan by round, then what belongs to no round."""
        found: list[Due] = []
        for round_id in sorted({*self.personal, *self.reviewers, *self.outbox,
                                *self.packages, *self.pdfs, *self.pdf_blobs}):
            apps = self.applications.get(round_id, {})
            for kind in (Kind.UNSELECTED, Kind.SELECTED):
                ids = [i for i in self.personal.get(round_id, ()) if apps[i][1] is kind]
                if ids:
                    found.append(Due(kind, round_id, len(ids), min(apps[i][2] for i in ids)))
            if round_id in self.pdfs or round_id in self.pdf_blobs:
                names = {p.name for p in self.pdfs.get(round_id, [])}
                found.append(Due(Kind.CERTIFICATE_PDFS, round_id, len(
                    names | set(self.pdf_blobs.get(round_id, {})))))
            if round_id in self.reviewers:
                found.append(Due(Kind.REVIEWERS, round_id, self.reviewers[round_id],
                                 self.round_until[round_id]))
            if round_id in self.packages:
                found.append(Due(Kind.PACKAGE, round_id, len(self.packages[round_id]),
                                 self.round_until[round_id]))
            if self.outbox.get(round_id):
                found.append(Due(Kind.NOTICES, round_id, len(self.outbox[round_id]),
                                 self.outbox_since[round_id]))
        if self.mail_files:
            found.append(Due(Kind.MAIL_FILES, None, len(self.mail_files)))
        if self.suppressions:
            found.append(Due(Kind.SUPPRESSIONS, None, len(self.suppressions)))
        if self.access_months:
            found.append(Due(Kind.ACCESS_LOG, None, len(self.access_months),
                             detail=", ".join(self.access_months)))
        return found

    def is_empty(self) -> bool:
        """Nothing is due."""
        return not self.lines()


def periods_of(privacy: PrivacyConfig) -> Periods:
    """The periods of `[privacy]` (config.PrivacyConfig)."""
    return Periods(privacy.unselected_years, privacy.selected_years, privacy.mail_months,
                   privacy.access_log_years)


def plan(session: Session, periods: Periods, today: date, *, mail_dir: Path,
         inbox_dir: Path, certificates_dir: Path) -> Plan:
    """What is past its period on `today`, in the database and under the var directory."""
    found = Plan(today, periods)
    _plan_rounds(session, found)
    _plan_mail(session, found, mail_dir)
    found.access_months = retention.access_months_due(
        session.scalars(select(AL.month).distinct()), today, periods)
    for round_id, until in found.round_until.items():
        if not retention.is_due(until, today):
            continue
        names = {u.name for u in blobs.uploads_of(session, round_id, None)
                 if u.kind in UPLOAD_KINDS}
        if (inbox_dir / round_id).is_dir():
            names |= {p.name for p in (inbox_dir / round_id).iterdir()}
        if names:
            found.packages[round_id] = names
    _plan_pdfs(session, found, certificates_dir)
    return found


def _plan_rounds(session: Session, found: Plan) -> None:
    today, periods = found.today, found.periods
    rounds = {row.id: row for row in session.execute(
        select(R.id, R.closes_at, R.state, R.support_years).where(R.state.in_(DECIDED_ROUNDS)))}
    if not rounds:
        return
    ends: dict[int, list[date]] = defaultdict(list)
    for row in session.execute(select(C.application_id, C.valid_to, C.status, C.cancelled_on)
                               .where(C.round_id.in_(list(rounds)))):
        cancelled = row.status == CertificateStatus.CANCELLED and row.cancelled_on
        ends[row.application_id].append(row.cancelled_on if cancelled else row.valid_to)
    cancelled_on = {row.application_id: row.decided_on for row in session.execute(
        select(CANCELLATIONS.c.application_id, CANCELLATIONS.c.decided_on)
        .where(CANCELLATIONS.c.round_id.in_(list(rounds))))}
    for round_id, rnd in rounds.items():
        closes_on = kst_date(rnd.closes_at)
        found.round_until[round_id] = retention.round_data_until(closes_on, periods)
    for app in session.execute(select(A.id, A.round_id, A.receipt_no, A.state)
                               .where(A.round_id.in_(list(rounds)))):
        rnd = rounds[app.round_id]
        if app.state in SELECTED_STATES:
            kind = Kind.SELECTED
            until = retention.project_until(retention.project_end(
                ends.get(app.id, ()), cancelled_on.get(app.id), kst_date(rnd.closes_at),
                rnd.support_years), periods)
        else:
            kind, until = Kind.UNSELECTED, found.round_until[app.round_id]
        if retention.is_due(until, today):
            found.applications[app.round_id][app.id] = (app.receipt_no, kind, until)
    due_ids = [i for apps in found.applications.values() for i in apps]
    holding: set[int] = set()
    for ids in _chunks(due_ids):
        holding.update(session.scalars(select(P.application_id).distinct().where(
            P.application_id.in_(ids), or_(P.representative != "", P.email != "",
                                           P.address != ""))))
        holding.update(session.scalars(select(C.application_id).distinct().where(
            C.application_id.in_(ids), or_(C.representative != "", C.address != ""))))
    for round_id, apps in found.applications.items():
        kept = holding.intersection(apps)
        if kept:
            found.personal[round_id] = kept
    for round_id in session.scalars(select(RV.round_id).where(
            RV.round_id.in_(list(rounds)), or_(RV.name != "", RV.email != ""))):
        if retention.is_due(found.round_until[round_id], today):
            found.reviewers[round_id] = found.reviewers.get(round_id, 0) + 1


def _plan_mail(session: Session, found: Plan, mail_dir: Path) -> None:
    """Notices sent (or given up) and refused addresses `mail_months` ago, and `.eml` files
    stored that long ago (the file's name carries the time it was stored: its delivery)."""
    # Rows older than this may be due (the exact day is `mail_until`'s: a month's end is
    # clipped, so a few days' margin); the newer ones are not read at all.
    since = retention.kept_until(found.today, months=-found.periods.mail_months)
    margin = datetime.combine(since + timedelta(days=4), time(), tzinfo=KST)
    delivered_at = func.coalesce(OB.sent_at, OB.created_at)
    for row in session.execute(
            select(OB.id, OB.round_id, delivered_at.label("at"))
            .where(OB.state.in_((OutboxState.SENT, OutboxState.FAILED)), delivered_at < margin,
                   ~OB.recipient.startswith(PURGED_RECIPIENT, autoescape=True))
            .order_by(OB.id)):
        until = retention.mail_until(kst_date(row.at), found.periods)
        if retention.is_due(until, found.today):
            found.outbox[row.round_id].append(row.id)
            found.outbox_since[row.round_id] = min(
                until, found.outbox_since.get(row.round_id, until))
    found.suppressions = [address for address, at in session.execute(
        select(MS.address, MS.at).where(MS.at < margin).order_by(MS.address))
        if retention.is_due(retention.mail_until(kst_date(at), found.periods), found.today)]
    if mail_dir.is_dir():
        for path in sorted(mail_dir.glob("*.eml")):
            stored = _stored_on(path.name)
            if stored is not None and retention.is_due(
                    retention.mail_until(stored, found.periods), found.today):
                found.mail_files.append(path)


def _stored_on(name: str) -> date | None:
    try:
        stamp = name.split("-", 1)[0]  # `<UTC time>-<sequence>-<Message-ID prefix>.eml`
        return kst_date(datetime.strptime(stamp, MailFolder.TIME).replace(tzinfo=UTC))
    except ValueError:
        return None


def _plan_pdfs(session: Session, found: Plan, certificates_dir: Path) -> None:
    """The PDFs of the due projects' certificates (every version), wherever still on disk."""
    selected = [i for apps in found.applications.values()
                for i, (_, kind, _) in apps.items() if kind is Kind.SELECTED]
    for ids in _chunks(selected):
        for number, round_id in session.execute(select(C.number, C.round_id)
                                                .where(C.application_id.in_(ids))):
            paths = sorted((certificates_dir / round_id).glob(f"{number}-v*.pdf"))
            if paths:
                found.pdfs.setdefault(round_id, []).extend(paths)
        for number, version, sha, round_id in session.execute(
                select(CV.number, CV.version, CV.pdf_sha256, C.round_id)
                .join(CERTIFICATES, C.number == CV.number).where(C.application_id.in_(ids))
                .where(CV.pdf_sha256.in_(select(SF.sha256)))):
            found.pdf_blobs.setdefault(round_id, {})[f"{number}-v{version}.pdf"] = sha


@dataclass(frozen=True)
class Destroyed:
    """What one run destroyed in the database, by kind and round."""

    lines: list[Due]
    audit_rows: int
    access_rows: int


def destroy(session: Session, found: Plan, *, now: datetime, actor: str,
            client: str) -> Destroyed:
    """Overwrite the due personal fields, delete the due rows, record it (audit, access log);
    flushed, not committed. Files are `remove_files`'s."""
    lines = found.lines()
    for ids in found.personal.values():
        _blank_applications(session, sorted(ids))
    if found.reviewers:
        session.execute(update(REVIEWERS).where(RV.round_id.in_(found.reviewers))
                        .values(name="", email=""))
    for chunk in _chunks([i for ids in found.outbox.values() for i in ids]):
        session.execute(update(OUTBOX).where(OB.id.in_(chunk)).values(
            recipient=literal(PURGED_RECIPIENT, String) + cast(OB.id, String),
            recipient_name="", payload={}, body_id=None))
    if found.outbox:
        session.execute(delete(MAIL_BODIES).where(~MB.id.in_(
            select(OB.body_id).where(OB.body_id.is_not(None)))))
    for addresses in _chunks(found.suppressions):
        session.execute(delete(SUPPRESSIONS).where(MS.address.in_(addresses)))
    if found.access_months:
        session.execute(delete(ACCESS_LOG).where(AL.month.in_(found.access_months)))
    for uploaded in found.packages:
        blobs.forget_uploads(session, uploaded, UPLOAD_KINDS)
    blobs.forget(session, [sha for shas in found.pdf_blobs.values() for sha in shas.values()])
    audit_rows = access_rows = 0
    by_round: dict[str | None, list[Due]] = defaultdict(list)
    for due in lines:
        by_round[due.round_id].append(due)
    for round_id, dues in by_round.items():
        audit_rows += record(session, Audit(now, actor, round_id), [Entry(
            "round" if round_id else "privacy", round_id or "personal_data", "privacy_purge",
            None, REASON, data={due.kind.value: due.count for due in dues})])
        receipts = found.receipts(round_id) if round_id else []
        access.record(session, access.Request(
            actor, client, AccessAction.DELETE,
            f"{round_id}/개인정보" if round_id else "안내 메일·접속기록", round_id, receipts,
            REASON + ": " + ", ".join(f"{KIND_NAMES[d.kind]} {d.count:,}" for d in dues)), now)
        access_rows += 1
    session.flush()
    return Destroyed(lines, audit_rows, access_rows)


def _blank_applications(session: Session, ids: Sequence[int]) -> None:
    for chunk in _chunks(ids):
        session.execute(update(PARTICIPANTS).where(P.application_id.in_(chunk))
                        .values(representative="", email="", address=""))
        numbers = list(session.scalars(select(C.number).where(C.application_id.in_(chunk))))
        if not numbers:
            continue
        session.execute(update(CERTIFICATES).where(C.number.in_(numbers))
                        .values(representative="", address=""))
        for number, version, fields in session.execute(
                select(CV.number, CV.version, CV.fields).where(CV.number.in_(numbers))):
            session.execute(update(CERTIFICATE_VERSIONS).where(
                CV.number == number, CV.version == version).values(fields=_blanked(fields)))


def _blanked(fields: dict[str, Any]) -> dict[str, Any]:
    """A version's K4 fields without the representative and the address (a reissue's change
    of either loses its old and new value too)."""
    kept = {**fields, **{key: "" for key in PERSONAL_CERTIFICATE_FIELDS if key in fields}}
    change = fields.get("change")
    if isinstance(change, dict) and change.get("field") in PERSONAL_CHANGES:
        kept["change"] = {**change, "old_value": "", "new_value": ""}
    return kept


@dataclass(frozen=True)
class RemovedFiles:
    """Files deleted or rewritten after the commit."""

    pdfs: int
    mail_files: int
    packages: int
    exports: list[Path]


def remove_files(session: Session, found: Plan, *, inbox_dir: Path, copies: Iterable[Path],
                 today: date) -> RemovedFiles:
    """Delete the due files, then rewrite the rounds' `certificates.csv` copies (`copies`: the
    folders that hold a round's exports, `<folder>/<round>/`) from the database as it is now."""
    pdfs = sum(_unlink(path) for paths in found.pdfs.values() for path in paths)
    mail_files = sum(_unlink(path) for path in found.mail_files)
    packages = 0
    for round_id in found.packages:
        folder = inbox_dir / round_id
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            packages += not folder.exists()
    rewritten = []
    for round_id in sorted(r for r, apps in found.applications.items()
                           if any(kind is Kind.SELECTED for _, kind, _ in apps.values())):
        text_ = None
        for folder in copies:
            path = folder / round_id / "certificates.csv"
            if path.is_file():
                text_ = text_ or certificates_csv(session, round_id, today)
                if write_bytes_atomically(path, text_.encode("utf-8")):
                    rewritten.append(path)
    return RemovedFiles(pdfs, mail_files, packages, rewritten)


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1


def compact(engine: Engine) -> str:
    """Let the database give up the destroyed bytes: SQLite rebuilds its file (VACUUM) and
    empties its write-ahead log; PostgreSQL vacuums the tables touched. A Korean line."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("VACUUM"))
            busy, _, _ = connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
            if busy:
                return ("DB 파일을 다시 썼지만, 다른 연결이 읽는 중이라 WAL 파일을 비우지 "
                        "못했습니다: 다음 파기 때 다시 합니다")
            return "DB 파일을 다시 써서 지운 내용을 남기지 않았습니다 (VACUUM)"
        for table in TABLES:
            connection.execute(text(f"VACUUM {table}"))
        return "PostgreSQL 표를 정리했습니다 (VACUUM)"


@dataclass(frozen=True)
class Purged:
    """One run of the destruction: what went, the files, the database's compaction."""

    destroyed: Destroyed | None
    files: RemovedFiles | None
    compacted: str | None

    def summary(self) -> list[str]:
        """Korean lines for a person: what went, and what was recorded."""
        if self.destroyed is None:
            return ["보관 기간이 지난 개인정보가 없습니다"]
        lines = [f"파기: {due.line()}" for due in self.destroyed.lines]
        if self.files is not None:
            files = self.files
            lines.append(f"지운 파일: 확인서 PDF {files.pdfs:,}개, .eml {files.mail_files:,}개, "
                         f"올린 파일 {files.packages:,}개 폴더; 다시 쓴 certificates.csv "
                         f"{len(files.exports):,}개")
        lines.append(f"감사 기록 {self.destroyed.audit_rows:,}건, 접속기록 "
                     f"{self.destroyed.access_rows:,}건을 남겼습니다")
        if self.compacted:
            lines.append(self.compacted)
        return lines


def places(settings: Settings) -> dict[str, Path]:
    """Where the var directory keeps personal data (`plan`'s keyword arguments)."""
    return {"mail_dir": settings.mail_dir, "inbox_dir": settings.inbox_dir,
            "certificates_dir": settings.certificates_dir}


def export_copies(settings: Settings) -> list[Path]:
    """The folders holding rounds' `certificates.csv` (`<folder>/<round>/`): the exports, and
    what `sangsaeng demo` leaves under `<var>/demo/`."""
    return [settings.exports_dir, settings.var_dir / "demo"]


def purge(engine: Engine, periods: Periods, settings: Settings, *, now: datetime, actor: str,
          client: str) -> Purged:
    """Destroy what is past its period at `now`: the database in one transaction (with its
    audit and access rows), then the files, then the compaction."""
    today = kst_date(now)
    with session_scope(engine) as session:
        found = plan(session, periods, today, **places(settings))
        if found.is_empty():
            return Purged(None, None, None)
        destroyed = destroy(session, found, now=now, actor=actor, client=client)
    with session_scope(engine) as session:
        files = remove_files(session, found, inbox_dir=settings.inbox_dir,
                             copies=export_copies(settings), today=today)
    touched = (found.personal or found.reviewers or found.outbox or found.suppressions
               or found.access_months or found.packages or found.pdf_blobs)
    return Purged(destroyed, files, compact(engine) if touched else None)


def _chunks(items: Sequence[Any] | Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch
