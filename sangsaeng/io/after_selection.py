"""After-selection files — INTERFACES §5: production, changes, cancellations, cost claims,
listing and evaluations (M3), read with the round package's conventions (CSV in UTF-8/CP949,
or one .xlsx with a sheet per file stem; per-row errors with file, row, column and value; the
good rows kept).

`amount_krw` (M2) is whole KRW from 1, written as digits or grouped by commas as a spreadsheet
shows it (`6000000`, `6,000,000`); decimals, units (`원`) and badly placed commas are refused.

Only the cells are checked here; whether a receipt number, BRN or certificate number is known
is the service's question (services/certificates.py, services/claims.py), asked against the
database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from sangsaeng.domain.certificates import Ground, ReissueField
from sangsaeng.domain.clock import kst_date
from sangsaeng.domain.evaluations import EvaluationKind, EvaluationResult
from sangsaeng.domain.listing import MallStep, evidence_problem
from sangsaeng.io import values
from sangsaeng.io.reader import Cells, production_row
from sangsaeng.io.rows import ProductionRow
from sangsaeng.io.sources import DATE as DATE_KIND
from sangsaeng.io.sources import PackageError, RowError, Table, read_csv, read_workbook

# INTERFACES §5: the files this module reads, with their columns.
SUPPORT_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "production": ("receipt_no", "brn", "confirmed_at"),
    "changes": ("number", "field", "new_value", "changed_on", "reason"),
    "cancellations": ("receipt_no", "ground", "decided_on", "reason"),
    "cost_claims": ("claim_id", "receipt_no", "submitted_on", "amount_krw", "item", "evidence"),
    "listing": ("receipt_no", "brn", "step", "done_on", "evidence"),
    "evaluations": ("receipt_no", "kind", "held_on", "result", "note"),
})
CLAIM_ID_MAX = 40  # models.CostClaim.claim_id
LATER_FILES: tuple[str, ...] = ()  # INTERFACES §5 files not read yet: none
_DATES = {"production": ("confirmed_at",), "changes": ("changed_on",),
          "cancellations": ("decided_on",), "cost_claims": ("submitted_on",),
          "listing": ("done_on",), "evaluations": ("held_on",)}


@dataclass(frozen=True, slots=True)
class ChangeInput:
    """K4 reissue: one field of a certificate's company particulars changed."""

    number: str
    field_name: ReissueField
    new_value: str
    changed_on: date
    reason: str
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class CancellationInput:
    """K5/K5a: a selected project cancelled on a legal ground."""

    receipt_no: str
    ground: Ground
    decided_on: date
    reason: str
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ClaimInput:
    """M2: a claim for certification-cost support (인증비용 지원 신청)."""

    claim_id: str
    receipt_no: str
    submitted_on: date
    amount_krw: int
    item: str
    evidence: str = ""
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ListingInput:
    """M1: a step of a certified product's 종합쇼핑몰 listing, done on a date; the certificate
    is named by its lead (receipt number, BRN)."""

    receipt_no: str
    brn: str
    step: MallStep
    done_on: date
    evidence: str
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class EvaluationInput:
    """M3: a performance evaluation of a selected project, held on a day, and its result."""

    receipt_no: str
    kind: EvaluationKind
    held_on: date
    result: EvaluationResult
    note: str = ""
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(slots=True)
class SupportFiles:
    """What a `support import` path held: typed rows per file, the rejected rows, what was
    found but is not read (yet)."""

    source: str = "form"
    production: list[ProductionRow] = field(default_factory=list)
    changes: list[ChangeInput] = field(default_factory=list)
    cancellations: list[CancellationInput] = field(default_factory=list)
    cost_claims: list[ClaimInput] = field(default_factory=list)
    listing: list[ListingInput] = field(default_factory=list)
    evaluations: list[EvaluationInput] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    not_read: list[str] = field(default_factory=list)


E = TypeVar("E", Ground, ReissueField, MallStep, EvaluationKind, EvaluationResult)


def _choice(kind: type[E]) -> Callable[[str], E]:
    """A cell holding one of an enumeration's values (case-insensitive)."""
    def parse(text: str) -> E:
        try:
            return kind(values.required(text).strip().lower())
        except ValueError:
            raise ValueError(f"{', '.join(m.value for m in kind)} 중 하나여야 합니다") from None
    return parse


def _tables(path: Path) -> tuple[dict[str, Table], list[str]]:
    """The support tables at `path` (folder, one CSV named as a file stem, or .xlsx)."""
    stems = (*SUPPORT_COLUMNS, *LATER_FILES)
    if path.is_dir():
        present = [s for s in stems if (path / f"{s}.csv").is_file()]
        tables = {s: read_csv(path / f"{s}.csv") for s in present if s in SUPPORT_COLUMNS}
        later = [f"{s}.csv" for s in present if s in LATER_FILES]
    elif path.is_file() and path.suffix.lower() == ".csv":
        if path.stem not in stems:
            raise PackageError(f"{path.name}: not one of the after-selection files "
                               f"({', '.join(f'{s}.csv' for s in stems)})")
        tables = {path.stem: read_csv(path)} if path.stem in SUPPORT_COLUMNS else {}
        later = [] if tables else [path.name]
    elif path.is_file() and path.suffix.lower() == ".xlsx":
        kinds = {s: dict.fromkeys(cols, DATE_KIND) for s, cols in _DATES.items()}
        tables = read_workbook(path, [*SUPPORT_COLUMNS, *LATER_FILES], (), kinds)
        later = [f"{path.name}[{s}]" for s in LATER_FILES if s in tables]
        tables = {s: t for s, t in tables.items() if s in SUPPORT_COLUMNS}
    elif not path.exists():
        raise PackageError(f"{path} does not exist")
    else:
        raise PackageError(f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
                           "give a folder of CSV files, one of the CSV files, or one .xlsx")
    if not tables and not later:
        raise PackageError(f"{path} holds none of "
                           f"{', '.join(f'{s}.csv' for s in stems)}")
    return tables, later


def _check_headers(tables: Mapping[str, Table]) -> None:
    problems = []
    for stem, table in tables.items():
        missing = [c for c in SUPPORT_COLUMNS[stem] if c not in table.header]
        if not table.header:
            problems.append(f"{table.name} is empty (no header row)")
        elif missing:
            problems.append(f"{table.name} is missing column{'s' * (len(missing) > 1)} "
                            f"{', '.join(missing)}")
    if problems:
        raise PackageError("; ".join(problems))


def _rows(table: Table, errors: list[RowError]) -> list[Cells]:
    errors.extend(table.errors)
    index: dict[str, int] = {}
    for i, column in enumerate(table.header):
        index.setdefault(column, i)
    return [Cells(table.name, number, cells, index) for number, cells in table.rows]


def _item(stem: str, c: Cells) -> object:
    """One row of `stem` as its typed input (bad cells recorded on `c`)."""
    if stem == "production":
        return production_row(c)  # one reader and one type with the round package's (K1)
    if stem == "changes":
        return ChangeInput(
            c.take("number", values.required), c.take("field", _choice(ReissueField)),
            c.take("new_value", values.name), c.take("changed_on", values.date),
            c.take("reason", values.single_line), file=c.file, row=c.row)
    if stem == "listing":  # M1
        return _listing(c, _choice(MallStep))
    if stem == "evaluations":  # M3
        return EvaluationInput(
            c.take("receipt_no", values.required), c.take("kind", _choice(EvaluationKind)),
            c.take("held_on", values.date), c.take("result", _choice(EvaluationResult)),
            c.take("note", values.single_line), file=c.file, row=c.row)
    if stem == "cost_claims":  # M2
        return ClaimInput(
            c.take("claim_id", _claim_id), c.take("receipt_no", values.required),
            c.take("submitted_on", values.date), c.take("amount_krw", values.krw),
            c.take("item", values.name), c.take("evidence", values.single_line),
            file=c.file, row=c.row)
    return CancellationInput(
        c.take("receipt_no", values.required), c.take("ground", _choice(Ground)),
        c.take("decided_on", values.date), c.take("reason", values.required),
        file=c.file, row=c.row)


def _claim_id(text: str) -> str:
    """M2: a claim's id, one line of at most 40 characters (the stored key)."""
    if len(values.name(text)) > CLAIM_ID_MAX:
        raise ValueError(f"{CLAIM_ID_MAX}자를 넘습니다")
    return text


def _evidence(text: str) -> str:
    return values.single_line(text).strip()


def _listing(c: Cells, step: Callable[[str], MallStep]) -> ListingInput:
    """M1: one listing row; `catalog_number`'s evidence is the 8-digit 물품식별번호."""
    item = ListingInput(
        c.take("receipt_no", values.required), c.take("brn", values.brn), c.take("step", step),
        c.take("done_on", values.date), c.take("evidence", _evidence),
        file=c.file, row=c.row)
    problem = None if item.step is None or item.evidence is None \
        else evidence_problem(item.step, item.evidence)
    if problem is not None:
        c.fail("evidence", problem)
    return item


def read_support(path: Path) -> SupportFiles:
    """INTERFACES §5: read the after-selection files found at `path`. A file that cannot be read
    at all raises PackageError (one line); a bad cell rejects its row only."""
    tables, later = _tables(path)
    _check_headers(tables)
    found = SupportFiles(str(path), files=[t.name for t in tables.values()], not_read=later)
    for stem, table in tables.items():
        for c in _rows(table, found.errors):
            item = _item(stem, c)
            if c.errors:
                found.errors.extend(c.errors)
            else:
                getattr(found, stem).append(item)
    return found


# The date of an event that has happened, per kind, and its name as the refusal says it (a
# topic: "…은/는"): a row dated after the clock is refused. (Listing steps are checked where
# they are recorded, against the certificate: M1.)
HAPPENED_ON = MappingProxyType({
    "production": ("confirmed_at", "생산 확인 시각은"),  # K1
    "changes": ("changed_on", "변경일은"),  # K4
    "cancellations": ("decided_on", "취소 결정일은"),  # K5
    "cost_claims": ("submitted_on", "비용 청구 제출일은"),  # M2
    "evaluations": ("held_on", "평가일은")})  # M3


def happened_by(found: SupportFiles, now: datetime) -> SupportFiles:
    """`found` without the rows dated after `now` (KST date; a confirmation's instant): each
    becomes a refused row naming its file, row, column and value."""
    today = kst_date(now)
    for kind, (column, what) in HAPPENED_ON.items():
        kept = []
        for item in getattr(found, kind):
            when = getattr(item, column)
            late = when > now if isinstance(when, datetime) else when > today
            if not late:
                kept.append(item)
                continue
            shown = when.isoformat()
            found.errors.append(RowError(
                item.file, item.row if item.file else None, column, shown,
                f"오늘({today.isoformat()}) 이후입니다: {what} 미래일 수 없습니다"))
        setattr(found, kind, kept)
    return found
