"""Generated inputs for the readers: the 2022-2 files as seeds, perturbed cell by cell, column
by column and byte by byte, written as CSV (UTF-8, UTF-8 with BOM, CP949, mixed) or XLSX."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import strategies as st

from tests.conftest import ROUND_2022_2

Records = list[list[str]]

PACKAGE_STEMS = ("applications", "participants", "documents", "reviewers", "affiliations",
                 "scores", "sanctions", "certificates", "production")
SUPPORT_STEMS = ("production", "changes", "cancellations", "cost_claims", "listing",
                 "evaluations")


def _records(path: Path) -> Records:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


PACKAGE: dict[str, Records] = {
    stem: _records(ROUND_2022_2 / "package" / f"{stem}.csv") for stem in PACKAGE_STEMS
}
PACKAGE["certificates"] += [  # the real file has no rows: two to perturb
    ["K-2021-0001", "785-87-46035", "3912110901", "2021-08-01", "2023-07-31"],
    ["K-2021-0002", "494-86-63941", "3912170201", "2021-09-01", "2023-08-31"],
]
SUPPORT: dict[str, Records] = {
    stem: _records(ROUND_2022_2 / "support" / f"{stem}.csv")
    for stem in ("cost_claims", "listing", "evaluations")
}
SUPPORT["production"] = PACKAGE["production"]
SUPPORT["changes"] = [  # INTERFACES §5; the 2022-2 support folder has none
    ["number", "field", "new_value", "changed_on", "reason"],
    ["K-2022-2-0002", "name", "㈜래이정밀산업", "2023-01-05", "상호 변경"],
    ["K-2022-2-0005", "Address", "서울특별시 금천구 산업로 16", "2023-02-01", "본사 이전"],
    ["K-2022-2-0007", "representative", "김대표", "2023-03-10", ""],
]
SUPPORT["cancellations"] = [
    ["receipt_no", "ground", "decided_on", "reason"],
    ["2022-2-018", "failed_evaluation", "2023-08-01", "중간평가 불합격"],
    ["2022-2-030", "FRAUD", "2023-09-15", "허위 서류 제출 (판로지원법 제20조의2③1)"],
]

FORMULAS = ("=cmd|' /C calc'!A0", "=1+1", "+1+2", "-2+3", "@SUM(A1:A9)", "=HYPERLINK(\"http"
            "://evil.example\",\"click\")", "+cmd|' /C notepad'!A0", "-cmd|' /C calc'!A0",
            "@cmd", "=", "\t=1+1", "=A1", "=2*3")
ODD = ("", " ", "  \u3000 ", "\ufeff", "\x00", "a\x00b", "\u2028", "line\nbreak", "tab\there",
       "\r", '"', '""', "'", ",", ";", "\\", "NULL", "None", "nan", "-0", "0", "1", "true", "Y",
       "#N/A", "#DIV/0!", "1e5", "0x10", "٣", "１２３", "𝟙", "\U0001f600", "가" * 300, "é",
       "\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


def seed_column(records: Records, at: int) -> list[str]:
    """The cells of one column of a seed, a pool of values that pass its checks."""
    return [row[at] for row in records[1:] if at < len(row)] or [""]


@st.composite
def cell(draw: st.DrawFn, pool: list[str], others: list[str]) -> str:
    """A cell: mostly a valid value (of its own column), else an odd or hostile one."""
    kind = draw(st.sampled_from(("seed", "seed", "seed", "other", "formula", "prefixed",
                                 "odd", "text", "edited", "huge")))
    if kind == "seed":
        return draw(st.sampled_from(pool))
    if kind == "other":
        return draw(st.sampled_from(others))
    if kind == "formula":
        return draw(st.sampled_from(FORMULAS))
    if kind == "prefixed":
        return draw(st.sampled_from("=+-@")) + draw(st.sampled_from(pool))
    if kind == "odd":
        return draw(st.sampled_from(ODD))
    if kind == "text":
        return draw(st.text(max_size=12))
    if kind == "edited":  # a valid value with one character changed, added or removed
        value = draw(st.sampled_from(pool))
        at = draw(st.integers(0, len(value)))
        new = draw(st.text(min_size=0, max_size=1))
        return value[:at] + new + value[at + draw(st.integers(0, 1)):]
    size = draw(st.sampled_from((1_000, 40_000, 140_000)))  # 140 000 > the csv field limit
    return draw(st.sampled_from("x가,\"\n")) * size


OPERATIONS = ("cell", "cell", "cell", "formula", "drop_column", "duplicate_column",
              "rename_column", "reorder_columns", "extra_column", "short_row", "long_row",
              "duplicate_row", "blank_row", "swap_rows", "header_only", "drop_header")


@st.composite
def perturbed(draw: st.DrawFn, seed: Records, *, max_rows: int | None = None) -> Records:
    """A seed table with one to four perturbations (or none: the valid file)."""
    header, rows = list(seed[0]), [list(row) for row in seed[1 : (max_rows or len(seed)) + 1]]
    everything = [value for row in seed[1:] for value in row] or [""]
    pools = [seed_column(seed, at) for at in range(len(header))]
    for operation in draw(st.lists(st.sampled_from(OPERATIONS), max_size=4)):
        width = len(header)
        if operation in ("cell", "formula") and rows and width:
            i, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, width - 1))
            pool = pools[j] if j < len(pools) else everything
            value = draw(st.sampled_from(FORMULAS)) if operation == "formula" \
                else draw(cell(pool, everything))
            rows[i] += [""] * (j + 1 - len(rows[i]))
            rows[i][j] = value
        elif operation == "drop_column" and width:
            j = draw(st.integers(0, width - 1))
            header.pop(j)
            for row in rows:
                del row[j : j + 1]
        elif operation == "duplicate_column" and width:
            j = draw(st.integers(0, width - 1))
            header.append(header[j])
            for row in rows:
                row.append(row[j] if j < len(row) else "")
        elif operation == "rename_column" and width:
            j = draw(st.integers(0, width - 1))
            header[j] = draw(st.sampled_from((header[j].upper(), f" {header[j]} ",
                                               f"\ufeff{header[j]}", header[j][:-1], "",
                                               draw(st.text(max_size=8)))))
        elif operation == "reorder_columns" and width:
            order = draw(st.permutations(range(width)))
            header = [header[j] for j in order]
            rows = [[row[j] if j < len(row) else "" for j in order] for row in rows]
        elif operation == "extra_column":
            header.append(draw(st.sampled_from(("비고", "note2", "", "=SUM(A:A)"))))
            for row in rows:
                row.append(draw(st.sampled_from(everything + list(FORMULAS))))
        elif operation in ("short_row", "long_row") and rows:
            i = draw(st.integers(0, len(rows) - 1))
            if operation == "short_row":
                rows[i] = rows[i][: draw(st.integers(0, max(len(rows[i]) - 1, 0)))]
            else:
                rows[i] += draw(st.lists(st.sampled_from(("", " ", "x", "=1+1")), min_size=1,
                                         max_size=3))
        elif operation == "duplicate_row" and rows:
            rows.insert(draw(st.integers(0, len(rows))),
                        list(rows[draw(st.integers(0, len(rows) - 1))]))
        elif operation == "blank_row":
            rows.insert(draw(st.integers(0, len(rows))),
                        draw(st.sampled_from(([], [""], [" ", ""], [""] * width))))
        elif operation == "swap_rows" and len(rows) > 1:
            i, k = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows) - 1))
            rows[i], rows[k] = rows[k], rows[i]
        elif operation == "header_only":
            rows = []
        elif operation == "drop_header":
            return rows
    return [header, *rows]


def csv_text(records: Records, terminator: str = "\r\n", delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=terminator, delimiter=delimiter).writerows(records)
    return buffer.getvalue()


@dataclass(frozen=True)
class Encoded:
    """A CSV file's bytes; `text` is what they hold when they are exactly one encoding's
    form of it (the test can then predict every row), else None."""

    data: bytes
    text: str | None


@st.composite
def encoded(draw: st.DrawFn, records: Records) -> Encoded:
    """The records as a CSV file in one of the encodings a user may send, or mixed."""
    text = csv_text(records, draw(st.sampled_from(("\r\n", "\n"))))
    how = draw(st.sampled_from(("utf-8", "utf-8", "utf-8-sig", "cp949", "cp949", "mixed",
                                "utf-16")))
    if how in ("utf-8", "utf-8-sig"):
        return Encoded(text.encode(how), text)
    if how == "utf-16":
        return Encoded(text.encode("utf-16"), None)
    try:
        data = text.encode("cp949")
    except UnicodeEncodeError:  # a character CP949 lacks: the file is a mix
        how = "mixed"
    if how == "cp949":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return Encoded(data, text)
        return Encoded(data, None)  # also valid UTF-8: which one is meant is a guess
    lines = text.splitlines(keepends=True)
    other = draw(st.sets(st.integers(0, max(len(lines) - 1, 0)), max_size=3))
    first = draw(st.sampled_from(("utf-8", "cp949")))
    second = "cp949" if first == "utf-8" else "utf-8"
    return Encoded(b"".join(line.encode(second if n in other else first, "replace")
                            for n, line in enumerate(lines)), None)


@st.composite
def spoiled(draw: st.DrawFn, data: bytes) -> bytes:
    """Bytes damaged as files get damaged: cut, bytes flipped, inserted or deleted, NULs,
    a stray BOM, or nothing of the original at all."""
    how = draw(st.sampled_from(("cut", "flip", "insert", "delete", "nul", "bom", "random",
                                "empty", "several")))
    if how == "random":
        return draw(st.binary(max_size=2048))
    if how == "empty":
        return b""
    rounds = draw(st.integers(2, 6)) if how == "several" else 1
    for _ in range(rounds):
        kind = draw(st.sampled_from(("cut", "flip", "insert", "delete", "nul", "bom"))) \
            if how == "several" else how
        at = draw(st.integers(0, len(data)))
        if kind == "cut":
            data = data[:at]
        elif kind == "flip" and at < len(data):
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
        elif kind == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 8)):]
        elif kind == "nul":
            data = data[:at] + b"\x00" + data[at:]
        elif kind == "bom":
            data = data[:at] + codecs.BOM_UTF8 + data[at:]
    return data


# --- XLSX ---------------------------------------------------------------------------------

ERRORS = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!")
# openpyxl refuses these in strings (XML 1.0 cannot hold them)
_ILLEGAL = str.maketrans(dict.fromkeys(map(chr, (*range(0, 9), 11, 12, *range(14, 32))), "?"))


@st.composite
def xlsx_value(draw: st.DrawFn, text: str) -> Any:
    """A cell as a spreadsheet may hold it: the seed text, or a number, date, boolean,
    formula, error, nothing, a very long string."""
    kind = draw(st.sampled_from(("text", "text", "text", "number", "float", "decimal",
                                 "datetime", "date", "time", "bool", "none", "formula",
                                 "formula_text", "error", "long", "typed")))
    if kind == "text":
        return text.translate(_ILLEGAL)
    if kind == "number":
        return draw(st.integers(-(10**15), 10**15))
    if kind == "float":
        return draw(st.floats(allow_nan=False, allow_infinity=False, width=64))
    if kind == "decimal":
        return Decimal(draw(st.sampled_from(("21.7", "30", "0.05", "-1", "6000000"))))
    if kind == "datetime":
        return draw(st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 1, 1)))
    if kind == "date":
        return draw(st.dates(min_value=date(1900, 3, 1)))
    if kind == "time":
        return draw(st.sampled_from((time(0), time(17, 39), time(23, 59, 59))))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "none":
        return None
    if kind == "formula":
        return Formula(draw(st.sampled_from((FORMULAS[0], "=1+1", "=TODAY()", "=A1&B1"))))
    if kind == "formula_text":  # a formula-like string typed as text
        return Text(draw(st.sampled_from(FORMULAS)))
    if kind == "error":
        return draw(st.sampled_from(ERRORS))
    if kind == "long":
        return draw(st.sampled_from("x가")) * draw(st.sampled_from((5_000, 32_767)))
    return _typed(text)


def _typed(text: str) -> Any:
    """The seed text as the type a spreadsheet would give it (2022-08-01 → a date, …)."""
    for parse in (int, float, date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text)  # type: ignore[operator]
        except ValueError:
            continue
    return text.translate(_ILLEGAL)


@dataclass(frozen=True)
class Formula:
    """A formula cell (stored as a formula, no cached value, as openpyxl writes it)."""

    text: str


@dataclass(frozen=True)
class Text:
    """A string cell that starts like a formula, stored as text."""

    text: str


@st.composite
def sheet(draw: st.DrawFn, seed: Records, *, max_rows: int) -> list[list[Any]]:
    """A perturbed seed table with odd cell types in some cells (the header stays text)."""
    records = draw(perturbed(seed, max_rows=max_rows))
    out: list[list[Any]] = [[cell.translate(_ILLEGAL) for cell in records[0]]] if records else []
    for row in records[1:]:
        odd = draw(st.sets(st.integers(0, max(len(row) - 1, 0)), max_size=2))
        out.append([draw(xlsx_value(value)) if at in odd else value.translate(_ILLEGAL)
                    for at, value in enumerate(row)])
    return out


def write_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> None:
    """One sheet per stem; strings are stored as text (openpyxl would make any string that
    starts with = a formula), `Formula` as a formula."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                if isinstance(value, Formula):
                    sheet.cell(r, c).value = value.text
                    continue
                target = sheet.cell(r, c)
                target.value = value.text if isinstance(value, Text) else value
                if isinstance(value, str | Text) and target.data_type == "f":
                    target.data_type = "s"
    book.save(path)
