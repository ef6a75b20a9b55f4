"""INTERFACES §5 `evaluations.csv` (PROGRAM_RULES M3) as `support import` reads it: CSV or an
.xlsx sheet, per-row errors with file, row, column and value."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl

from sangsaeng.domain.evaluations import EvaluationKind, EvaluationResult
from sangsaeng.io.after_selection import EvaluationInput, read_support
from tests.conftest import ROUND_2022_2

HEADER = ["receipt_no", "kind", "held_on", "result", "note"]


def test_M3_the_2022_2_evaluations_file_is_read_whole() -> None:
    found = read_support(ROUND_2022_2 / "support" / "evaluations.csv")
    assert found.errors == [] and found.not_read == []
    assert found.evaluations == [
        EvaluationInput("2022-2-018", EvaluationKind.INTERIM, date(2023, 7, 10),
                        EvaluationResult.FAIL, "협력 실적 없음"),
        EvaluationInput("2022-2-002", EvaluationKind.INTERIM, date(2023, 7, 12),
                        EvaluationResult.PASS, "")]


def test_M3_bad_cells_reject_their_row_only(tmp_path: Path) -> None:
    path = tmp_path / "evaluations.csv"
    path.write_text(",".join(HEADER) + "\n2022-2-002,Interim,2023-07-12,PASS,\n"
                    "2022-2-002,midterm,2023-07-12,pass,\n2022-2-002,completion,2023-07-12,ok,\n",
                    encoding="utf-8")
    found = read_support(path)
    assert [(e.kind, e.result) for e in found.evaluations] == [("interim", "pass")]
    assert [(e.row, e.column, e.value) for e in found.errors] == [
        (3, "kind", "midterm"), (4, "result", "ok")]


def test_M3_a_workbook_sheet_gives_the_same_rows_with_dates(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "evaluations"
    sheet.append(HEADER)
    sheet.append(["2022-2-018", "interim", datetime(2023, 7, 10), "fail", "협력 실적 없음"])
    book.save(tmp_path / "support.xlsx")
    found = read_support(tmp_path / "support.xlsx")
    assert found.errors == [] and found.not_read == []
    assert [(e.receipt_no, e.held_on) for e in found.evaluations] == [
        ("2022-2-018", date(2023, 7, 10))]
