"""INTERFACES §5 `cost_claims.csv` (PROGRAM_RULES M2) as `support import` reads it: CSV or an
.xlsx sheet, whole-KRW amounts, per-row errors with file, row, column and value."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl

from sangsaeng.io.after_selection import ClaimInput, read_support
from tests.conftest import ROUND_2022_2

HEADER = ["claim_id", "receipt_no", "submitted_on", "amount_krw", "item", "evidence"]


def test_M2_the_2022_2_claims_file_is_read_whole() -> None:
    found = read_support(ROUND_2022_2 / "support" / "cost_claims.csv")
    assert found.errors == [] and found.not_read == []
    assert [c.claim_id for c in found.cost_claims] == [f"C-00{n}" for n in range(1, 7)]
    assert found.cost_claims[0] == ClaimInput("C-001", "2022-2-025", date(2022, 8, 1), 6_000_000,
                                              "KC 인증 시험비", "영수증 2022-0801-01")


def test_M2_a_workbook_sheet_gives_the_same_claims_with_numbers_and_dates(tmp_path: Path
                                                                          ) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "cost_claims"
    sheet.append(HEADER)
    sheet.append(["C-001", "2022-2-025", datetime(2022, 8, 1), 6000000, "KC 인증 시험비", None])
    sheet.append(["C-002", "2022-2-025", datetime(2022, 8, 20), 7000000.0, "시험비", "영수증"])
    book.save(tmp_path / "support.xlsx")
    found = read_support(tmp_path / "support.xlsx")
    assert found.errors == []
    assert [(c.claim_id, c.submitted_on, c.amount_krw, c.evidence)
            for c in found.cost_claims] == [("C-001", date(2022, 8, 1), 6_000_000, ""),
                                            ("C-002", date(2022, 8, 20), 7_000_000, "영수증")]


def test_M2_bad_cells_reject_their_row_only_with_file_row_column_and_value(tmp_path: Path
                                                                           ) -> None:
    path = tmp_path / "cost_claims.csv"
    path.write_text(",".join(HEADER) + "\n"
                    "C-1,2022-2-025,2022-08-01,\"6,000,000\",시험비,\n"
                    "C-2,2022-2-025,2022-13-01,1000,시험비,\n"
                    "C-3,2022-2-025,2022-08-01,0,시험비,\n"
                    "C-4,2022-2-025,2022-08-01,1000,,\n"
                    f"{'C' * 41},2022-2-025,2022-08-01,1000,시험비,\n", encoding="utf-8")
    found = read_support(path)
    assert [c.claim_id for c in found.cost_claims] == ["C-1"]
    assert found.cost_claims[0].amount_krw == 6_000_000
    assert [(e.row, e.column, e.value) for e in found.errors] == [
        (3, "submitted_on", "2022-13-01"), (4, "amount_krw", "0"), (5, "item", ""),
        (6, "claim_id", "C" * 41)]
    assert all(e.file == "cost_claims.csv" for e in found.errors)
