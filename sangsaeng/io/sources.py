"""Round-package sources — INTERFACES §2: CSV files and XLSX sheets as plain text tables.

This layer only turns bytes into rows of stripped strings with their spreadsheet row
numbers; what the values mean is `sangsaeng.io.package`'s business.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sangsaeng.errors import SangsaengError
from sangsaeng.io.encoding import decode, has_unreadable, not_text, shown, unreadable

#: Column kinds that change how an XLSX cell becomes text.
DATE = "date"
DECIMAL = "decimal"

TRUNCATED = "파일이 글자 중간에서 끝납니다: 파일이 잘렸을 수 있습니다"


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected row (or cell) of a package file, as the user (the office, in Korean)
    should see it: `listing.csv 3행, brn 열, 값 '559-81-39064': 사업자등록번호의 …` — column
    names stay the file's header codes; a form's error (no file) is its message alone."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" {self.row}행"
        if self.column is not None:
            where += f", {self.column} 열"
        if self.value is not None:
            where += f", 값 {self.value!r}"
        return f"{where}: {self.message}" if where else self.message  # a form: no file


def rows_refused(errors: Iterable[RowError]) -> int:
    """How many rows `errors` refuse: a row may be refused for several cells (a form's item,
    with no row, counts once per error)."""
    return len({(e.file, e.row) if e.row is not None else id(e) for e in errors})


class PackageError(SangsaengError):
    """The package as a whole cannot be read (message is one line for the user)."""


@dataclass(slots=True)
class Table:
    """One file or sheet: header and data rows as stripped text, with spreadsheet row numbers."""

    name: str
    encoding: str
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unreadable_rows: int = 0  # rows left out for a bad byte or a NUL (`encoding.unreadable`)


def read_folder(
    folder: Path, stems: Collection[str], required: Collection[str]
) -> dict[str, Table]:
    """Read `<stem>.csv` for each stem present in `folder`; missing required files raise."""
    present = [stem for stem in stems if (folder / f"{stem}.csv").is_file()]
    _check_present(str(folder), present, stems, required, unit="file", suffix=".csv")
    return {stem: read_csv(folder / f"{stem}.csv") for stem in present}


def read_csv(path: Path) -> Table:
    """Decode one CSV file (UTF-8, UTF-8 with BOM or CP949) into a table. A row holding a byte
    of neither encoding, or a NUL, is a RowError naming its column; the other rows are kept,
    unless no row can be read (then the file is in another encoding: PackageError)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackageError(f"{path.name} cannot be read: {exc.strerror or exc}") from exc
    decoded = decode(data, path.name)
    table, records = _text_table(path.name, decoded.encoding, decoded.text, ",")
    if any(unreadable(cell) for cell in table.header):
        raise PackageError(not_text(path.name, data, decoded.encoding, "in its header row"))
    if table.unreadable_rows and not table.rows:
        raise PackageError(not_text(path.name, data, decoded.encoding, "no row can be read"))
    if decoded.truncated:
        _mark_truncated(table, records, ends_line=decoded.text.endswith(("\n", "\r")))
    return table


def read_text(name: str, text: str) -> Table:
    """CSV given as text (pasted into a form): nothing to decode. Cells copied from a
    spreadsheet arrive separated by tabs; a header line with tabs and no comma means that."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first and "," not in first else ","
    table = _text_table(name, "text", text, delimiter)[0]
    problem = next(filter(None, map(unreadable, table.header)), None)
    if problem is not None:
        raise PackageError(f"{name} 머리글 행: {problem}")
    return table


def _text_table(
    name: str, encoding: str, text: str, delimiter: str
) -> tuple[Table, list[tuple[int, list[str]]]]:
    errors: list[tuple[int, int | None, str]] = []
    records = list(_csv_records(text, errors, delimiter))
    table = build_table(name, encoding, records, pad_short=False,
                        check_text=has_unreadable(text))
    table.errors[:0] = [RowError(name, row, _column(table, at), None, message)
                        for row, at, message in errors]
    return table, records


def _column(table: Table, at: int | None) -> str | None:
    return table.header[at] if at is not None and at < len(table.header) else None


class _Lines:
    """The lines of a text, remembering those read since `pending` was last cleared (the csv
    module reads one record's lines at a time: on an error, they are that record's)."""

    def __init__(self, text: str) -> None:
        self.lines = io.StringIO(text, newline="")
        self.pending: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.pending.append(line)
        return line


def _csv_records(
    text: str, errors: list[tuple[int, int | None, str]], delimiter: str = ","
) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV text, numbered; one that cannot be read goes to `errors` as (row,
    index of the field at fault if known, message)."""
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    number = 0
    while True:
        try:
            for cells in reader:
                number += 1
                lines.pending.clear()
                yield number, cells
            return
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            number += 1
            at = _long_field("".join(lines.pending), delimiter, csv.field_size_limit())
            lines.pending.clear()
            errors.append((number, at, f"CSV로 읽을 수 없습니다: {exc}"))


def _long_field(record: str, delimiter: str, limit: int) -> int | None:
    """The index of the first field of a record's text longer than `limit` characters."""
    separator = re.escape(delimiter)
    at = length = 0
    # Quoted parts (with their doubled quotes), unquoted runs, delimiters, line ends.
    for part in re.finditer(f'(?:"[^"]*")+|"[^"]*$|[^"{separator}\r\n]+|{separator}|[\r\n]+',
                            record):
        if part.group() == delimiter:
            at, length = at + 1, 0
        elif part.group()[0] in "\r\n":
            break
        else:
            length += len(part.group())
            if length > limit:
                return at
    return None


def _mark_truncated(table: Table, records: list[tuple[int, list[str]]], *, ends_line: bool) -> None:
    """Replace whatever was read of the row holding the cut character by one RowError."""
    # The cut character belongs to the last record, or to a new line if the text ends one.
    last, cells = records[-1] if records else (0, [])
    number = last + 1 if ends_line or not records else last
    if ends_line:
        cells = []
    if not any(cell.strip() for row, values in records if row < number for cell in values):
        raise PackageError(f"{table.name} ends in the middle of a character in its header row")
    table.rows = [row for row in table.rows if row[0] != number]
    table.errors = [error for error in table.errors if error.row != number]
    column = table.header[len(cells) - 1] if 0 < len(cells) <= len(table.header) else None
    value = cells[-1].strip() if cells else ""
    table.errors.append(RowError(table.name, number, column, value, TRUNCATED))


def build_table(
    name: str, encoding: str, records: list[tuple[int, list[str]]], *, pad_short: bool,
    check_text: bool = False,
) -> Table:
    """Header = first non-blank record; blank rows are skipped, others checked for width (and,
    with `check_text`, for cells that cannot be read: `encoding.unreadable`)."""
    rows = iter(records)
    header: list[str] = []
    for _, cells in rows:
        if any(cell.strip() for cell in cells):
            header = _trim([header_name(cell) for cell in cells])
            break
    table = Table(name, encoding, header)
    width = len(header)
    for number, cells in rows:
        values = [cell.strip() for cell in cells]
        if not any(values) or (check_text and _left_out(table, number, values)):
            continue
        if len(values) > width and not any(values[width:]):
            values = values[:width]
        elif pad_short and len(values) < width:
            values += [""] * (width - len(values))
        if len(values) != width:
            message = f"이 행의 칸은 {len(values)}개이고 머리글 행의 열은 {width}개입니다"
            table.errors.append(RowError(name, number, None, ",".join(cells), message))
            continue
        table.rows.append((number, values))
    return table


def _left_out(table: Table, number: int, values: list[str]) -> bool:
    """Reject a row with a cell that cannot be read: one RowError per such cell."""
    problems = [(at, why) for at, value in enumerate(values)
                if (why := unreadable(value, table.encoding))]
    for at, why in problems:
        table.errors.append(RowError(table.name, number, _column(table, at), shown(values[at]),
                                     why))
    table.unreadable_rows += bool(problems)
    return bool(problems)


def header_name(cell: str) -> str:
    """A header cell as a column name: surrounding whitespace and a BOM removed."""
    return cell.strip().lstrip("\ufeff").strip()


def _trim(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells.pop()
    return cells


def read_workbook(
    path: Path,
    stems: Collection[str],
    required: Collection[str],
    kinds: Mapping[str, Mapping[str, str]],
) -> dict[str, Table]:
    """Read one sheet per stem from an .xlsx workbook; `kinds` says stem → column → DATE/DECIMAL."""
    import openpyxl  # deferred: only workbook imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    # A damaged zip fails in zlib or ends early (EOFError) as well as in zipfile itself.
    unreadable = (OSError, KeyError, ValueError, SyntaxError, EOFError, zipfile.BadZipFile,
                  zlib.error)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (*unreadable, InvalidFileException) as exc:
        raise PackageError(f"{path.name} is not a readable .xlsx workbook ({exc})") from exc
    try:
        present = [stem for stem in stems if stem in book.sheetnames]
        _check_present(path.name, present, stems, required, unit="sheet", suffix="")
        return {
            stem: _sheet_table(book[stem], f"{path.name}[{stem}]", kinds.get(stem, {}))
            for stem in present
        }
    except unreadable as exc:
        raise PackageError(f"{path.name} is not a readable .xlsx workbook ({exc})") from exc
    finally:
        book.close()


def _sheet_table(sheet: Any, name: str, kinds: Mapping[str, str]) -> Table:
    records: list[tuple[int, list[str]]] = []
    by_index: list[str | None] | None = None  # column kinds, once the header row is seen
    # A stale stored dimension would cut rows off; without one, read_only iter_rows yields
    # every row from row 1 (missing rows as empty), so enumerate() gives the sheet's numbers.
    sheet.reset_dimensions()
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if by_index is None:
            cells = [cell_text(value) for value in values]
            if any(cell.strip() for cell in cells):
                by_index = [kinds.get(header_name(cell)) for cell in cells]
        else:
            cells = [cell_text(value, kind) for value, kind in zip(values, by_index, strict=False)]
            cells += [cell_text(value) for value in values[len(by_index) :]]
        records.append((number, cells))
    return build_table(name, "xlsx", records, pad_short=True)


def cell_text(value: object, kind: str | None = None) -> str:
    """An XLSX cell as the text a CSV export would hold (naive datetimes stay naive = KST)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Excel has no date type: a date cell reads back as a datetime at midnight.
        if kind == DATE and value.tzinfo is None and value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        if kind == DECIMAL:
            return str(Decimal(str(value)))
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _check_present(
    source: str,
    present: Collection[str],
    stems: Collection[str],
    required: Collection[str],
    *,
    unit: str,
    suffix: str,
) -> None:
    if not present:
        names = ", ".join(f"{stem}{suffix}" for stem in required)
        raise PackageError(f"{source} is an empty package: none of the {unit}s {names} found")
    missing = [f"{stem}{suffix}" for stem in stems if stem in required and stem not in present]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise PackageError(f"{source} is missing required {unit}{plural}: {', '.join(missing)}")
