"""The three properties every read must have, and the tally the session prints.

1. No traceback: a reader returns, or raises PackageError (one line, naming the file).
2. No partial row: each data row is kept whole — every field what the readers' own parsers
   make of its cell, a formula-like cell verbatim — or rejected with a RowError (a document or
   production row equal to a kept one is kept once, as the reader documents).
3. Every RowError carries file and row, and its column unless the whole row is at fault;
   the message shows them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import openpyxl

from sangsaeng.domain.certificates import Ground, ReissueField
from sangsaeng.domain.evaluations import EvaluationKind, EvaluationResult
from sangsaeng.domain.listing import MallStep, evidence_problem
from sangsaeng.domain.scoring import parse_score
from sangsaeng.io import values
from sangsaeng.io.after_selection import CLAIM_ID_MAX, ListingInput, SupportFiles
from sangsaeng.io.package import CriterionSpec, PackageError, RoundPackage, RowError
from sangsaeng.io.rows import DATE_COLUMNS
from sangsaeng.io.sources import DATE, DECIMAL, TRUNCATED, cell_text
from sangsaeng.spreadsheet import is_formula_like

# RowErrors about a whole row (no single cell is at fault): their column may be None.
WHOLE_ROW = ("이 행의 칸은 ", "CSV로 읽을 수 없습니다: ", TRUNCATED)
# An unreadable cell (`encoding.unreadable`) names its column, unless it lies past the header's.
UNREADABLE = ("NUL 문자(바이트 0x00)", "UTF-8도 CP949도 아닌 바이트가 있습니다 (0x")


@dataclass
class Tally:
    inputs: int = 0
    tracebacks: int = 0
    partial_rows: int = 0
    refused: int = 0  # inputs refused as a whole (PackageError)
    accepted_rows: int = 0
    row_errors: int = 0
    formulas_verbatim: int = 0  # formula-like cells kept, checked to be stored as given

    def line(self) -> str:
        return (f"fuzzed inputs: {self.inputs}, tracebacks: {self.tracebacks}, partial rows: "
                f"{self.partial_rows} ({self.refused} refused whole, {self.accepted_rows} rows "
                f"kept, {self.row_errors} row errors, {self.formulas_verbatim} formula-like "
                "cells kept verbatim)")


TALLY = Tally()


class PartialRow(AssertionError):
    """A kept row whose cells its own checks refuse, or a row neither kept nor rejected."""


@contextmanager
def one_input(*names: str) -> Iterator[None]:
    """Count one generated input; a PackageError must be one line naming one of `names`; any
    other exception is a traceback the user would see."""
    TALLY.inputs += 1
    try:
        yield
    except PackageError as exc:
        TALLY.refused += 1
        message = str(exc)
        assert "\n" not in message and message.isprintable(), message
        message.encode("utf-8")  # printable on a UTF-8 terminal (no lone surrogate)
        assert any(name in message for name in names), (names, message)
    except PartialRow:
        TALLY.partial_rows += 1
        raise
    except AssertionError:
        raise
    except Exception:
        TALLY.tracebacks += 1
        raise


# --- what a kept row's fields must be: the readers' own parsers ------------------------------

Parse = Callable[[str], Any]


def _choice(kind: type[Enum]) -> Parse:
    return lambda text: kind(values.required(text).strip().lower())


def _one_of(allowed: Sequence[str]) -> Parse:
    def parse(text: str) -> str:
        if values.required(text) not in allowed:
            raise ValueError(text)
        return text
    return parse


def _claim_id(text: str) -> str:
    if len(values.name(text)) > CLAIM_ID_MAX:
        raise ValueError(text)
    return text


Spec = Sequence[tuple[str, str, Parse]]  # column, attribute, parser


def package_specs(tracks: Sequence[str]) -> dict[str, Spec]:
    r = values.required
    return {
        "applications": [("receipt_no", "receipt_no", r), ("track", "track", _one_of(tracks)),
                         ("product_name", "product_name", values.name),
                         ("product_code", "product_code", values.product_code),
                         ("submitted_at", "submitted_at", values.instant)],
        "participants": [("receipt_no", "receipt_no", r), ("role", "role", values.role),
                         ("seq", "seq", values.seq), ("brn", "brn", values.brn),
                         ("name", "name", values.name), ("size", "size", values.size),
                         ("founded_on", "founded_on", values.date),
                         ("representative", "representative", values.single_line),
                         ("email", "email", values.email),
                         ("address", "address", values.single_line),
                         ("direct_production", "direct_production", values.boolean)],
        "documents": [("receipt_no", "receipt_no", r), ("brn", "brn", values.optional_brn),
                      ("doc_type", "doc_type", r),
                      ("submitted_at", "submitted_at", values.instant)],
        "reviewers": [("reviewer_id", "reviewer_id", r), ("name", "name", values.name),
                      ("email", "email", values.email)],
        "affiliations": [("reviewer_id", "reviewer_id", r), ("brn", "brn", values.brn),
                         ("until", "until", values.optional_date)],
        "scores": [("receipt_no", "receipt_no", r), ("reviewer_id", "reviewer_id", r)],
        "sanctions": [("brn", "brn", values.brn), ("banned_until", "banned_until", values.date),
                      ("reason", "reason", str)],
        "certificates": [("number", "number", r), ("brn", "brn", values.brn),
                         ("product_code", "product_code", values.product_code),
                         ("valid_from", "valid_from", values.date),
                         ("valid_to", "valid_to", values.date)],
        "production": [("receipt_no", "receipt_no", r), ("brn", "brn", values.brn),
                       ("confirmed_at", "confirmed_at", values.instant)],
    }


def _evidence(text: str) -> str:
    return values.single_line(text).strip()


SUPPORT_SPECS: dict[str, Spec] = {
    "production": package_specs(())["production"],
    "changes": [("number", "number", values.required),
                ("field", "field_name", _choice(ReissueField)),
                ("new_value", "new_value", values.name), ("changed_on", "changed_on", values.date),
                ("reason", "reason", values.single_line)],
    "cancellations": [("receipt_no", "receipt_no", values.required),
                      ("ground", "ground", _choice(Ground)),
                      ("decided_on", "decided_on", values.date),
                      ("reason", "reason", values.required)],
    "cost_claims": [("claim_id", "claim_id", _claim_id),
                    ("receipt_no", "receipt_no", values.required),
                    ("submitted_on", "submitted_on", values.date),
                    ("amount_krw", "amount_krw", values.krw), ("item", "item", values.name),
                    ("evidence", "evidence", values.single_line)],
    "listing": [("receipt_no", "receipt_no", values.required), ("brn", "brn", values.brn),
                ("step", "step", _choice(MallStep)), ("done_on", "done_on", values.date),
                ("evidence", "evidence", _evidence)],
    "evaluations": [("receipt_no", "receipt_no", values.required),
                    ("kind", "kind", _choice(EvaluationKind)), ("held_on", "held_on", values.date),
                    ("result", "result", _choice(EvaluationResult)),
                    ("note", "note", values.single_line)],
}


def _as_text(value: object) -> str:
    """A typed field back as the text that gives it (for rows whose cells are not known)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


# --- the cells a file holds, known independently of the reader --------------------------------

Rows = dict[int, list[str]]  # spreadsheet row number → cells (the header row included)


def csv_rows(text: str, delimiter: str = ",") -> Rows | None:
    """Rows as the csv module reads the text; None when it cannot (a field over its limit)."""
    try:
        return dict(enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter),
                              start=1))
    except csv.Error:
        return None


def xlsx_rows(path: Path, kinds: Mapping[str, Mapping[str, str]]) -> dict[str, Rows]:
    """Each sheet's rows as openpyxl reads them (cached values, never a formula's text), with
    the readers' text for a cell (`cell_text`); `kinds` = sheet → column → DATE/DECIMAL."""
    book = openpyxl.load_workbook(path, data_only=True)
    found = {sheet: _sheet_rows(book[sheet], kinds[sheet]) for sheet in kinds
             if sheet in book.sheetnames}
    book.close()
    return found


def _sheet_rows(sheet: Any, kinds: Mapping[str, str]) -> Rows:
    rows: Rows = {}
    names: list[str] | None = None
    for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        if names is None:
            rows[number] = [cell_text(value) for value in cells]
            if any(c.strip() for c in rows[number]):
                names = [c.strip().lstrip("\ufeff").strip() for c in rows[number]]
        else:
            rows[number] = [cell_text(value, kinds.get(names[at]) if at < len(names) else None)
                            for at, value in enumerate(cells)]
    return rows


def package_kinds(criteria: Sequence[CriterionSpec]) -> dict[str, dict[str, str]]:
    kinds = {stem: dict.fromkeys(columns, DATE) for stem, columns in DATE_COLUMNS.items()}
    kinds["scores"] = {spec.key: DECIMAL for spec in criteria}
    return kinds


# INTERFACES §5: the date columns of the after-selection files (a date cell reads as a date).
SUPPORT_KINDS = {"production": {"confirmed_at": DATE}, "changes": {"changed_on": DATE},
                 "cancellations": {"decided_on": DATE}, "cost_claims": {"submitted_on": DATE},
                 "listing": {"done_on": DATE}, "evaluations": {"held_on": DATE}}


# --- the checks ----------------------------------------------------------------------------

def check_errors(errors: Sequence[RowError], files: Mapping[str, Rows | None]) -> None:
    """Property 3, for every RowError."""
    for error in errors:
        shown = str(error)
        shown.encode("utf-8")
        assert error.file in files, (error, list(files))
        assert shown.startswith(f"{error.file} {error.row}행"), shown
        assert isinstance(error.row, int) and error.row >= 1, shown
        known = files[error.file]
        if error.column is None and error.message.startswith(UNREADABLE):
            header = _header(known) if known is not None else None
            if header is not None and error.row > header[0]:
                assert len(known[error.row]) > len(header[1]), shown  # past the last column
        elif error.column is None:
            assert error.message.startswith(WHOLE_ROW), shown
        else:
            assert f", {error.column} 열" in shown, shown
            if known is not None and not error.message.startswith(TRUNCATED):
                header = _header(known)
                assert header is not None and error.column in header[1], shown
        assert error.message and "\n" not in error.message, shown
    TALLY.row_errors += len(errors)


def _header(rows: Rows) -> tuple[int, list[str]] | None:
    for number, cells in sorted(rows.items()):
        if any(cell.strip() for cell in cells):
            names = [c.strip().lstrip("\ufeff").strip() for c in cells]
            while names and not names[-1]:
                names.pop()
            return number, names
    return None


def check_rows(
    name: str,
    kept: Sequence[Any],
    errors: Sequence[RowError],
    spec: Spec,
    rows: Rows | None,
    *,
    kept_once: bool = False,
    padded: bool = False,
    criteria: Mapping[str, Sequence[CriterionSpec]] | None = None,
    tracks: Mapping[str, str] | None = None,
) -> None:
    """Property 2 for one file: `rows` are its cells when known (else each kept row is
    checked against itself); `kept_once` = a row equal to a kept one may be dropped."""
    rejected = {error.row for error in errors if error.file == name}
    by_row: dict[int, Any] = {}
    for item in kept:
        if item.file != name:
            raise PartialRow(f"{item!r} kept under {name}")
        if item.row in rejected:
            raise PartialRow(f"{name} row {item.row} both kept and rejected: {item!r}")
        if item.row in by_row:
            raise PartialRow(f"{name} row {item.row} kept twice")
        by_row[item.row] = item
        _check_no_missing_field(name, item)
    TALLY.accepted_rows += len(kept)
    header = _header(rows) if rows is not None else None
    if header is None:
        for item in kept:
            _check_fields(name, item, spec, lambda column, item=item: _field_text(item, spec,
                                                                                  column))
        return
    first, names = header
    at = {column: names.index(column) for column in names}  # the first of a repeated name
    for number, cells in rows.items():
        if number <= first or not any(c.strip() for c in cells):
            if number in by_row:
                raise PartialRow(f"{name} row {number} is blank or the header, yet kept")
            continue
        def cell(column: str, cells: list[str] = cells) -> str:
            j = at[column]
            return cells[j].strip() if j < len(cells) else ""
        item = by_row.get(number)
        if item is not None:
            _check_width(name, number, cells, len(names), padded)
            _check_fields(name, item, spec, cell)
            if criteria is not None and tracks is not None:
                _check_scores(name, item, criteria[tracks[item.receipt_no]], cell)
        elif number not in rejected and not (kept_once and _equal_kept(spec, cell, kept)):
            raise PartialRow(f"{name} row {number} neither kept nor rejected: {cells!r}")


def _check_no_missing_field(name: str, item: Any) -> None:
    for f in fields(item):
        if getattr(item, f.name) is None and "None" not in str(f.type):
            raise PartialRow(f"{name} row {item.row}: {f.name} is None in a kept row")


def _field_text(item: Any, spec: Spec, column: str) -> str:
    attribute = next(a for c, a, _ in spec if c == column)
    return _as_text(getattr(item, attribute))


def _check_width(name: str, number: int, cells: list[str], width: int, padded: bool) -> None:
    """A kept row has the header's width (an XLSX row may be short: its cells are empty)."""
    if any(c.strip() for c in cells[width:]) or (len(cells) < width and not padded):
        raise PartialRow(f"{name} row {number} kept with {len(cells)} fields for {width}")


def _check_fields(name: str, item: Any, spec: Spec, cell: Callable[[str], str]) -> None:
    for column, attribute, parse in spec:
        text = cell(column)
        try:
            expected = parse(text)
        except ValueError as exc:
            raise PartialRow(f"{name} row {item.row} kept, yet its {column} {text!r} is "
                             f"refused by its own check: {exc}") from None
        if getattr(item, attribute) != expected:
            raise PartialRow(f"{name} row {item.row}: {column} {text!r} kept as "
                             f"{getattr(item, attribute)!r}, not {expected!r}")
        if is_formula_like(text):
            assert getattr(item, attribute) == text  # verbatim: never evaluated or altered
            TALLY.formulas_verbatim += 1
    if isinstance(item, ListingInput) and evidence_problem(item.step, item.evidence) is not None:
        raise PartialRow(f"{name} row {item.row}: evidence {item.evidence!r} kept for {item.step}")
    if hasattr(item, "valid_to") and item.valid_to < item.valid_from:
        raise PartialRow(f"{name} row {item.row}: valid_to before valid_from")


def _check_scores(name: str, item: Any, criteria: Sequence[CriterionSpec],
                  cell: Callable[[str], str]) -> None:
    expected: dict[str, Decimal] = {}
    for spec in criteria:
        if cell(spec.key) != "":
            try:
                expected[spec.key] = parse_score(cell(spec.key), spec.max)
            except ValueError as exc:
                raise PartialRow(f"{name} row {item.row}: {spec.key} kept: {exc}") from None
    if item.scores != expected:
        raise PartialRow(f"{name} row {item.row}: scores {item.scores} for cells {expected}")


def _equal_kept(spec: Spec, cell: Callable[[str], str], kept: Sequence[Any]) -> bool:
    try:
        parsed = {attribute: parse(cell(column)) for column, attribute, parse in spec}
    except ValueError:
        return False
    return any(all(getattr(item, a) == v for a, v in parsed.items()) for item in kept)


def check_package(package: RoundPackage, files: Mapping[str, Rows | None],
                  stems: Mapping[str, str], tracks: Sequence[str],
                  criteria: Mapping[str, Sequence[CriterionSpec]], *, padded: bool = False,
                  known_applications: Mapping[str, str] | None = None) -> None:
    """Properties 2 and 3 for a package (or a score sheet: stems = {"scores": …});
    `stems` = file stem → its name in errors; `padded` = XLSX (short rows are padded)."""
    check_errors(package.errors, files)
    specs = package_specs(tracks)
    app_tracks = {**(known_applications or {}),
                  **{a.receipt_no: a.track for a in package.applications}}
    for stem, name in stems.items():
        check_rows(name, getattr(package, stem), package.errors, specs[stem], files.get(name),
                   kept_once=stem in ("documents", "production"), padded=padded,
                   criteria=criteria if stem == "scores" else None,
                   tracks=app_tracks if stem == "scores" else None)
    for score in package.scores:  # kept scores refer to applications kept or known
        assert score.receipt_no in app_tracks


def check_support(found: SupportFiles, files: Mapping[str, Rows | None],
                  stems: Mapping[str, str], *, padded: bool = False) -> None:
    """Properties 2 and 3 for the after-selection files."""
    check_errors(found.errors, files)
    for stem, name in stems.items():
        check_rows(name, getattr(found, stem), found.errors, SUPPORT_SPECS[stem],
                   files.get(name), padded=padded)
