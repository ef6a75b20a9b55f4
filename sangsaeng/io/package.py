"""Round-package reader — INTERFACES §2: typed rows for the good rows, a RowError for each bad one.

`read_package` raises `PackageError` only when the package as a whole cannot be read (missing
file, sheet or column, unreadable encoding); a bad row never raises, it is reported and the
other rows are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar, cast

from sangsaeng.domain.brn import InvalidBRN, normalize_brn
from sangsaeng.domain.clock import parse_instant
from sangsaeng.io.sources import (
    DATE,
    DECIMAL,
    PackageError,
    RowError,
    Table,
    read_folder,
    read_workbook,
)

__all__ = [
    "ROLES",
    "SIZES",
    "AffiliationRow",
    "ApplicationRow",
    "CertificateRow",
    "CriterionSpec",
    "DocumentRow",
    "PackageError",
    "ParticipantRow",
    "ProductionRow",
    "ReviewerRow",
    "RoundPackage",
    "RowError",
    "SanctionRow",
    "ScoreRow",
    "read_package",
]

T = TypeVar("T")

SIZES = ("micro", "small", "medium", "midsize", "large")  # C3
ROLES = ("lead", "partner")  # C5


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    """applications.csv: one application (과제), C5."""

    receipt_no: str
    track: str
    product_name: str
    product_code: str
    submitted_at: datetime
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    """participants.csv: one lead or partner company of an application, C1–C5."""

    receipt_no: str
    role: str
    seq: int
    brn: str
    name: str
    size: str
    founded_on: date
    representative: str
    email: str
    address: str
    direct_production: bool
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """documents.csv: a submitted document; `brn` None = the application's own document."""

    receipt_no: str
    brn: str | None
    doc_type: str
    submitted_at: datetime
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    """reviewers.csv: a committee member."""

    reviewer_id: str
    name: str
    email: str
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class AffiliationRow:
    """affiliations.csv: a reviewer's tie to a company; `until` None = current (V3)."""

    reviewer_id: str
    brn: str
    until: date | None
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """scores.csv: one reviewer's scores of one application, criterion key → score (V2)."""

    receipt_no: str
    reviewer_id: str
    scores: dict[str, Decimal]
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class SanctionRow:
    """sanctions.csv: a participation ban (참여제한)."""

    brn: str
    banned_until: date
    reason: str
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class CertificateRow:
    """certificates.csv: a certificate issued before this round."""

    number: str
    brn: str
    product_code: str
    valid_from: date
    valid_to: date
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ProductionRow:
    """production.csv: a company's production confirmed for an application (K1)."""

    receipt_no: str
    brn: str
    confirmed_at: datetime
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass
class RoundPackage:
    """What a package holds: the good rows of each file, and every rejected row."""

    source: str
    applications: list[ApplicationRow] = field(default_factory=list)
    participants: list[ParticipantRow] = field(default_factory=list)
    documents: list[DocumentRow] = field(default_factory=list)
    reviewers: list[ReviewerRow] = field(default_factory=list)
    affiliations: list[AffiliationRow] = field(default_factory=list)
    scores: list[ScoreRow] = field(default_factory=list)
    sanctions: list[SanctionRow] = field(default_factory=list)
    certificates: list[CertificateRow] = field(default_factory=list)
    production: list[ProductionRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Number of rejected rows (a row with several bad values counts once)."""
        return len({(error.file, error.row) for error in self.errors})


@dataclass(frozen=True)
class CriterionSpec:
    """A review criterion (V1): its scores.csv column and its maximum."""

    key: str
    max: Decimal


# INTERFACES §2, in the order errors are reported. scores also needs one column per criterion.
COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "applications": ("receipt_no", "track", "product_name", "product_code", "submitted_at"),
        "participants": (
            "receipt_no",
            "role",
            "seq",
            "brn",
            "name",
            "size",
            "founded_on",
            "representative",
            "email",
            "address",
            "direct_production",
        ),
        "documents": ("receipt_no", "brn", "doc_type", "submitted_at"),
        "reviewers": ("reviewer_id", "name", "email"),
        "affiliations": ("reviewer_id", "brn", "until"),
        "scores": ("receipt_no", "reviewer_id"),
        "sanctions": ("brn", "banned_until", "reason"),
        "certificates": ("number", "brn", "product_code", "valid_from", "valid_to"),
        "production": ("receipt_no", "brn", "confirmed_at"),
    }
)
OPTIONAL = frozenset({"certificates", "production"})
_DATE_COLUMNS = {
    "participants": ("founded_on",),
    "affiliations": ("until",),
    "sanctions": ("banned_until",),
    "certificates": ("valid_from", "valid_to"),
}
_NO_APPLICATIONS: Mapping[str, str] = MappingProxyType({})
_NO_PARTICIPANTS: Mapping[str, Collection[str]] = MappingProxyType({})


def read_package(
    path: Path,
    *,
    tracks: Sequence[str],
    criteria_by_track: Mapping[str, Sequence[CriterionSpec]],
    known_applications: Mapping[str, str] = _NO_APPLICATIONS,
    known_reviewers: Collection[str] = (),
    known_participants: Mapping[str, Collection[str]] = _NO_PARTICIPANTS,
) -> RoundPackage:
    """Read a round package (a folder of CSV files or one .xlsx workbook), INTERFACES §2.

    `known_*` are what an earlier import stored for the round (receipt_no → track, reviewer
    ids, receipt_no → participant BRNs); cross-file checks accept them as well as the
    package's own rows. scores.csv must have a column for each criterion of every track its
    rows refer to.
    """
    unconfigured = [track for track in tracks if track not in criteria_by_track]
    if unconfigured:
        raise ValueError(f"criteria_by_track has no criteria for {', '.join(unconfigured)}")
    tables = _load(path, criteria_by_track)
    _check_headers(tables, _score_columns(tables, criteria_by_track, known_applications))
    reader = _Reader(tables, tracks, criteria_by_track, known_applications)
    reader.reviewer_ids.update(known_reviewers)
    for receipt_no, brns in known_participants.items():
        reader.members.setdefault(receipt_no, set()).update(brns)
    return reader.read(str(path))


def _load(path: Path, criteria_by_track: Mapping[str, Sequence[CriterionSpec]]) -> dict[str, Table]:
    required = [stem for stem in COLUMNS if stem not in OPTIONAL]
    if path.is_dir():
        return read_folder(path, COLUMNS, required)
    if path.is_file() and path.suffix.lower() == ".xlsx":
        kinds: dict[str, dict[str, str]] = {
            stem: dict.fromkeys(columns, DATE) for stem, columns in _DATE_COLUMNS.items()
        }
        kinds["scores"] = {
            spec.key: DECIMAL for specs in criteria_by_track.values() for spec in specs
        }
        return read_workbook(path, COLUMNS, required, kinds)
    if not path.exists():
        raise PackageError(f"{path} does not exist")
    raise PackageError(
        f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
        "give a folder of CSV files or one .xlsx workbook"
    )


def _score_columns(
    tables: Mapping[str, Table],
    criteria_by_track: Mapping[str, Sequence[CriterionSpec]],
    known_applications: Mapping[str, str],
) -> list[str]:
    """V2: the criterion columns scores.csv needs, for the tracks its rows refer to."""
    receipts = set(_column(tables["scores"], "receipt_no"))
    tracks = {known_applications[rn] for rn in receipts if rn in known_applications}
    applications = tables["applications"]
    pairs = zip(_column(applications, "receipt_no"), _column(applications, "track"), strict=True)
    tracks.update(track for receipt_no, track in pairs if receipt_no in receipts)
    keys = [spec.key for track in sorted(tracks) for spec in criteria_by_track.get(track, ())]
    return list(dict.fromkeys(keys))


def _column(table: Table, column: str) -> list[str]:
    """A column's raw cells ([] if the header lacks it: _check_headers reports that)."""
    if column not in table.header:
        return [""] * len(table.rows)
    at = table.header.index(column)
    return [cells[at] for _, cells in table.rows]


def _check_headers(tables: Mapping[str, Table], score_columns: Sequence[str]) -> None:
    """All header problems of all files in one line."""
    problems = []
    for stem, table in tables.items():
        if not table.header:
            problems.append(f"{table.name} is empty (no header row)")
            continue
        needed = COLUMNS[stem] + (tuple(score_columns) if stem == "scores" else ())
        missing = [column for column in needed if column not in table.header]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            problems.append(f"{table.name} is missing column{plural} {', '.join(missing)}")
        repeated = [column for column in needed if table.header.count(column) > 1]
        if repeated:
            problems.append(f"{table.name} has column {', '.join(repeated)} more than once")
    if problems:
        raise PackageError("; ".join(problems))


# --- values: each parser returns the value or raises ValueError with the user's message ---

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")
_BRN = re.compile(r"[0-9]{3}-?[0-9]{2}-?[0-9]{5}")
_PRODUCT_CODE = re.compile(r"[0-9]{10}")
_WHOLE = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")
_DOMAIN_PART = r"[^\s@,;:<>()\[\]\"\\\x00-\x1f\x7f.]+"
# One plain address: ASCII local part, no spaces, commas, angle brackets, quotes or CR/LF.
_EMAIL = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@(?:{_DOMAIN_PART}\.)+{_DOMAIN_PART}")
_BOOLEANS = {"true": True, "false": False, "y": True, "n": False, "1": True, "0": False}
_TENTH = Decimal("0.1")


def _required(text: str) -> str:
    if not text:
        raise ValueError("value is missing")
    return text


def _brn(text: str) -> str:
    """C1: a BRN, normalised to XXX-XX-XXXXX."""
    if not _BRN.fullmatch(_required(text)):
        raise ValueError("not a BRN (expected 10 digits as XXX-XX-XXXXX)")
    try:
        return normalize_brn(text)
    except InvalidBRN:
        raise ValueError("BRN check digit fails") from None


def _optional_brn(text: str) -> str | None:
    return _brn(text) if text else None


def _date(text: str) -> date:
    if _DATE.fullmatch(_required(text)):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError("not a valid date (expected YYYY-MM-DD)")


def _optional_date(text: str) -> date | None:
    return _date(text) if text else None


def _instant(text: str) -> datetime:
    """T1: ISO 8601 date and time; naive = KST. A bare date is refused (it would mean 00:00)."""
    if _INSTANT.match(_required(text)) and text.isascii():
        try:
            return parse_instant(text)
        except ValueError:
            pass
    raise ValueError("not a valid date and time (expected ISO 8601, e.g. 2022-05-14T17:39:00)")


def _boolean(text: str) -> bool:
    try:
        return _BOOLEANS[_required(text).lower()]
    except KeyError:
        raise ValueError("not a yes/no value (expected true/false, Y/N or 1/0)") from None


def _seq(text: str) -> int:
    if not _WHOLE.fullmatch(_required(text)) or int(text) < 1:
        raise ValueError("not a positive whole number")
    return int(text)


def _role(text: str) -> str:
    if _required(text) not in ROLES:
        raise ValueError(f"not a role (expected {' or '.join(ROLES)})")
    return text


def _size(text: str) -> str:
    if _required(text) not in SIZES:
        raise ValueError(f"not a size class (expected one of {', '.join(SIZES)})")
    return text


def _product_code(text: str) -> str:
    if not _PRODUCT_CODE.fullmatch(_required(text)):
        raise ValueError("not a product code (expected 10 digits)")
    return text


def _email(text: str) -> str:
    if not _EMAIL.fullmatch(_required(text)):
        raise ValueError("not a single plain e-mail address")
    return text


def _score_parser(maximum: Decimal) -> Callable[[str], Decimal]:
    """V2: a score in [0, max] with at most one decimal; Decimal only, never float."""

    def parse(text: str) -> Decimal:
        if not _NUMBER.fullmatch(_required(text)):
            raise ValueError("not a number")
        value = Decimal(text)
        if not 0 <= value <= maximum:
            raise ValueError(f"score must be between 0 and {maximum}")
        if value != value.quantize(_TENTH):
            raise ValueError("score has more than one decimal place")
        return value

    return parse


class _Cells:
    """One data row; `take` parses a cell and records a RowError instead of raising."""

    __slots__ = ("cells", "errors", "file", "index", "row")

    def __init__(self, file: str, row: int, cells: list[str], index: Mapping[str, int]) -> None:
        self.file, self.row, self.cells, self.index = file, row, cells, index
        self.errors: list[RowError] = []

    def value(self, column: str) -> str:
        return self.cells[self.index[column]]

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.file, self.row, column, self.value(column), message))

    def take(self, column: str, parse: Callable[[str], T]) -> T:
        # On error the row is rejected, so the None returned never reaches a typed row.
        try:
            return parse(self.value(column))
        except ValueError as exc:
            self.fail(column, str(exc))
            return cast(T, None)

    def unique(
        self, seen: Mapping[tuple[object, ...], int], key: tuple[object, ...], columns: str
    ) -> None:
        """Reject a row whose natural key an earlier accepted row already has."""
        first = seen.get(key) if None not in key else None
        if first is not None:
            self.fail(columns.split(", ")[-1], f"duplicate of row {first} (same {columns})")


Seen = dict[tuple[object, ...], int]


class _Reader:
    """Reads the files in dependency order, keeping what the cross-file checks need."""

    def __init__(
        self,
        tables: Mapping[str, Table],
        tracks: Sequence[str],
        criteria_by_track: Mapping[str, Sequence[CriterionSpec]],
        known_applications: Mapping[str, str],
    ) -> None:
        self.tables = tables
        self.tracks = tuple(tracks)
        self.criteria = {
            track: [(spec.key, _score_parser(spec.max)) for spec in specs]
            for track, specs in criteria_by_track.items()
        }
        self.app_tracks: dict[str, str] = dict(known_applications)  # receipt_no → track
        self.rejected_apps: set[str] = set()
        self.reviewer_ids: set[str] = set()
        self.rejected_reviewers: set[str] = set()
        self.members: dict[str, set[str]] = {}  # receipt_no → participant BRNs
        self.errors: list[RowError] = []

    def read(self, source: str) -> RoundPackage:
        """Every file, then the errors in file and row order."""
        encodings = {table.name: table.encoding for table in self.tables.values()}
        package = RoundPackage(source, encodings=encodings)
        package.reviewers = self.reviewers()
        package.applications, package.participants = self.check_structure(
            self.applications(), self.participants()
        )
        package.documents = self.documents()
        package.affiliations = self.affiliations()
        package.scores = self.scores()
        package.sanctions = self.sanctions()
        package.certificates = self.certificates()
        package.production = self.production()
        order = {self.tables[stem].name: i for i, stem in enumerate(COLUMNS) if stem in self.tables}
        package.errors = sorted(self.errors, key=lambda e: (order.get(e.file, 0), e.row or 0))
        return package

    def _rows(self, stem: str) -> Iterator[_Cells]:
        table = self.tables.get(stem)
        if table is None:
            return
        self.errors.extend(table.errors)
        index: dict[str, int] = {}
        for i, column in enumerate(table.header):
            index.setdefault(column, i)
        for number, cells in table.rows:
            yield _Cells(table.name, number, cells, index)

    def _keep(self, cells: _Cells) -> bool:
        self.errors.extend(cells.errors)
        return not cells.errors

    def _track(self, text: str) -> str:
        if _required(text) not in self.tracks:
            raise ValueError(
                f"not a track of this round (expected one of {', '.join(self.tracks)})"
            )
        return text

    def _receipt(self, text: str) -> str:
        if _required(text) in self.rejected_apps:
            raise ValueError(f"application {text} was rejected")
        if text not in self.app_tracks:
            raise ValueError("unknown receipt number")
        return text

    def _reviewer(self, text: str) -> str:
        if _required(text) in self.rejected_reviewers:
            raise ValueError(f"reviewer {text} was rejected")
        if text not in self.reviewer_ids:
            raise ValueError("unknown reviewer id")
        return text

    def _member(self, cells: _Cells, receipt_no: str | None, brn: str | None) -> None:
        if (
            receipt_no is not None
            and brn is not None
            and brn not in self.members.get(receipt_no, ())
        ):
            cells.fail("brn", f"not a participant of application {receipt_no}")

    def reviewers(self) -> list[ReviewerRow]:
        kept: list[ReviewerRow] = []
        seen: Seen = {}
        bad: set[str] = set()
        for c in self._rows("reviewers"):
            reviewer_id = c.take("reviewer_id", _required)
            name, email = c.take("name", _required), c.take("email", _email)
            c.unique(seen, (reviewer_id,), "reviewer_id")
            if self._keep(c):
                kept.append(ReviewerRow(reviewer_id, name, email, file=c.file, row=c.row))
                seen[(reviewer_id,)] = c.row
            elif reviewer_id:
                bad.add(reviewer_id)
        accepted = {reviewer.reviewer_id for reviewer in kept}
        # A reviewer whose row was rejected here stays rejected even if imported before.
        self.rejected_reviewers = bad - accepted
        self.reviewer_ids = (self.reviewer_ids - self.rejected_reviewers) | accepted
        return kept

    def applications(self) -> list[ApplicationRow]:
        kept: list[ApplicationRow] = []
        seen: Seen = {}
        bad: set[str] = set()
        for c in self._rows("applications"):
            receipt_no = c.take("receipt_no", _required)
            row = ApplicationRow(
                receipt_no,
                c.take("track", self._track),
                c.take("product_name", _required),
                c.take("product_code", _product_code),
                c.take("submitted_at", _instant),
                file=c.file,
                row=c.row,
            )
            c.unique(seen, (receipt_no,), "receipt_no")
            if self._keep(c):
                kept.append(row)
                seen[(receipt_no,)] = c.row
            elif receipt_no:
                bad.add(receipt_no)
        # An application whose row was rejected here stays rejected even if imported before.
        self.rejected_apps = bad - {application.receipt_no for application in kept}
        for receipt_no in self.rejected_apps:
            self.app_tracks.pop(receipt_no, None)
        self.app_tracks.update((application.receipt_no, application.track) for application in kept)
        return kept

    def participants(self) -> list[ParticipantRow]:
        kept: list[ParticipantRow] = []
        by_seq: Seen = {}
        by_brn: Seen = {}
        for c in self._rows("participants"):
            row = ParticipantRow(
                c.take("receipt_no", self._receipt),
                c.take("role", _role),
                c.take("seq", _seq),
                c.take("brn", _brn),
                c.take("name", _required),
                c.take("size", _size),
                c.take("founded_on", _date),
                c.value("representative"),
                c.take("email", _email),
                c.value("address"),
                c.take("direct_production", _boolean),
                file=c.file,
                row=c.row,
            )
            seq_key, brn_key = (row.receipt_no, row.role, row.seq), (row.receipt_no, row.brn)
            c.unique(by_seq, seq_key, "receipt_no, role, seq")
            c.unique(by_brn, brn_key, "receipt_no, brn")
            if self._keep(c):
                kept.append(row)
                by_seq[seq_key] = by_brn[brn_key] = c.row
        return kept

    def check_structure(
        self, applications: list[ApplicationRow], participants: list[ParticipantRow]
    ) -> tuple[list[ApplicationRow], list[ParticipantRow]]:
        """C5: an application needs a lead with seq 1 and a partner, else it and its rows go."""
        leads = {p.receipt_no for p in participants if p.role == "lead"}
        first_leads = {p.receipt_no for p in participants if p.role == "lead" and p.seq == 1}
        partners = {p.receipt_no for p in participants if p.role == "partner"}
        where = self.tables["participants"].name
        kept: list[ApplicationRow] = []
        for application in applications:
            receipt_no = application.receipt_no
            missing = [] if receipt_no in leads else ["no lead"]
            if receipt_no in leads and receipt_no not in first_leads:
                missing.append("no lead with seq 1")
            if receipt_no not in partners:
                missing.append("no partner")
            if not missing:
                kept.append(application)
                continue
            message = f"application has {' and '.join(missing)} in {where}"
            self.errors.append(
                RowError(application.file, application.row, "receipt_no", receipt_no, message)
            )
            self.rejected_apps.add(receipt_no)
            self.app_tracks.pop(receipt_no, None)
        return kept, self._drop_rejected(participants)

    def _drop_rejected(self, participants: list[ParticipantRow]) -> list[ParticipantRow]:
        kept: list[ParticipantRow] = []
        for p in participants:
            if p.receipt_no in self.rejected_apps:
                message = f"application {p.receipt_no} was rejected"
                self.errors.append(RowError(p.file, p.row, "receipt_no", p.receipt_no, message))
            else:
                kept.append(p)
                self.members.setdefault(p.receipt_no, set()).add(p.brn)
        return kept

    def documents(self) -> list[DocumentRow]:
        kept: list[DocumentRow] = []
        seen: set[tuple[object, ...]] = set()
        for c in self._rows("documents"):
            receipt_no = c.take("receipt_no", self._receipt)
            brn = c.take("brn", _optional_brn)
            row = DocumentRow(
                receipt_no,
                brn,
                c.take("doc_type", _required),
                c.take("submitted_at", _instant),
                file=c.file,
                row=c.row,
            )
            self._member(c, receipt_no, brn)
            key = (receipt_no, brn, row.doc_type, row.submitted_at)
            if self._keep(c) and key not in seen:  # the same document twice: keep it once
                seen.add(key)
                kept.append(row)
        return kept

    def affiliations(self) -> list[AffiliationRow]:
        kept: list[AffiliationRow] = []
        for c in self._rows("affiliations"):
            row = AffiliationRow(
                c.take("reviewer_id", self._reviewer),
                c.take("brn", _brn),
                c.take("until", _optional_date),
                file=c.file,
                row=c.row,
            )
            if self._keep(c):
                kept.append(row)
        return kept

    def scores(self) -> list[ScoreRow]:
        kept: list[ScoreRow] = []
        seen: Seen = {}
        for c in self._rows("scores"):
            receipt_no = c.take("receipt_no", self._receipt)
            reviewer_id = c.take("reviewer_id", self._reviewer)
            track = self.app_tracks.get(receipt_no) if receipt_no is not None else None
            if track is not None and track not in self.criteria:
                c.fail("receipt_no", f"track {track} has no review criteria configured")
            # V2: the criteria of the application's track, each in [0, max]. A blank cell is a
            # criterion not scored: the sheet is kept but incomplete, so not valid (V4).
            parsers = self.criteria.get(track, ()) if track is not None else ()
            scores = {key: c.take(key, parse) for key, parse in parsers if c.value(key) != ""}
            key = (receipt_no, reviewer_id)
            c.unique(seen, key, "receipt_no, reviewer_id")
            if self._keep(c):
                kept.append(ScoreRow(receipt_no, reviewer_id, scores, file=c.file, row=c.row))
                seen[key] = c.row
        return kept

    def sanctions(self) -> list[SanctionRow]:
        kept: list[SanctionRow] = []
        for c in self._rows("sanctions"):
            row = SanctionRow(
                c.take("brn", _brn),
                c.take("banned_until", _date),
                c.value("reason"),
                file=c.file,
                row=c.row,
            )
            if self._keep(c):
                kept.append(row)
        return kept

    def certificates(self) -> list[CertificateRow]:
        kept: list[CertificateRow] = []
        seen: Seen = {}
        for c in self._rows("certificates"):
            row = CertificateRow(
                c.take("number", _required),
                c.take("brn", _brn),
                c.take("product_code", _product_code),
                c.take("valid_from", _date),
                c.take("valid_to", _date),
                file=c.file,
                row=c.row,
            )
            if None not in (row.valid_from, row.valid_to) and row.valid_to < row.valid_from:
                c.fail("valid_to", "valid_to is before valid_from")
            c.unique(seen, (row.number,), "number")
            if self._keep(c):
                kept.append(row)
                seen[(row.number,)] = c.row
        return kept

    def production(self) -> list[ProductionRow]:
        kept: dict[tuple[str, str], ProductionRow] = {}
        for c in self._rows("production"):
            receipt_no = c.take("receipt_no", self._receipt)
            brn = c.take("brn", _brn)
            row = ProductionRow(
                receipt_no, brn, c.take("confirmed_at", _instant), file=c.file, row=c.row
            )
            self._member(c, receipt_no, brn)
            first = kept.get((receipt_no, brn))
            if first is not None and first != row:
                c.fail("brn", f"duplicate of row {first.row} (same receipt_no, brn)")
            if self._keep(c) and first is None:  # the same confirmation twice: keep it once
                kept[(receipt_no, brn)] = row
        return list(kept.values())
