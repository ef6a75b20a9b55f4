"""A score sheet on its own (V2, INTERFACES §2): read with the package's checks, from a file or
from text pasted into the UI's form; a sheet that cannot be read says why in one line."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from sangsaeng.io.package import CriterionSpec, PackageError, read_score_sheet

CRITERIA = (CriterionSpec("growth", Decimal(30)), CriterionSpec("plan", Decimal(30)),
            CriterionSpec("cooperation", Decimal(40)))
KNOWN = {"tracks": ("value",), "criteria_by_track": {"value": CRITERIA},
         "known_applications": {"2022-2-028": "value"}, "known_reviewers": ("R01", "R02")}


@pytest.mark.parametrize("text", [
    pytest.param("receipt_no,reviewer_id,growth,plan,cooperation\n"
                 "2022-2-028,R01,20.5,21,30.0\n\n2022-2-028,R02,10,10,10\n", id="csv"),
    pytest.param("\ufeffreceipt_no\treviewer_id\tgrowth\tplan\tcooperation\r\n"
                 "2022-2-028\tR01\t20.5\t21\t30.0\r\n2022-2-028\tR02\t10\t10\t10",
                 id="excel-cells"),
])
def test_pasted_sheets_read_like_the_package_file(text: str) -> None:
    sheet = read_score_sheet(text=text, **KNOWN)  # type: ignore[arg-type]
    assert sheet.errors == []
    assert [(s.reviewer_id, s.scores["plan"], s.row) for s in sheet.scores] == [
        ("R01", Decimal("21.0"), 2), ("R02", Decimal("10.0"), 4 if "\n\n" in text else 3)]


def test_a_comma_sheet_with_a_stray_tab_stays_csv() -> None:
    text = "receipt_no,reviewer_id,growth,plan,cooperation\n2022-2-028,R01\t,20,20,20\n"
    sheet = read_score_sheet(text=text, **KNOWN)  # type: ignore[arg-type]
    assert sheet.errors == [] and [s.reviewer_id for s in sheet.scores] == ["R01"]


@pytest.mark.parametrize(("given", "message"), [
    pytest.param({"text": "receipt_no,reviewer_id,growth,plan\n2022-2-028,R01,1,1\n"},
                 "scores.csv (pasted) is missing column cooperation", id="missing-column"),
    pytest.param({"path": "scores.txt"}, "scores.txt: unsupported file type '.txt'",
                 id="unsupported-file"),
    pytest.param({"path": "nowhere.csv"}, "nowhere.csv does not exist", id="no-such-file"),
])
def test_a_sheet_that_cannot_be_read_says_why(given: dict[str, str], message: str,
                                              tmp_path: Path) -> None:
    if "path" in given:
        path = tmp_path / given["path"]
        if path.suffix == ".txt":
            path.write_text("x", encoding="utf-8")
        with pytest.raises(PackageError, match=re.escape(message)):
            read_score_sheet(path, **KNOWN)  # type: ignore[arg-type]
    else:
        with pytest.raises(PackageError, match=re.escape(message)):
            read_score_sheet(text=given["text"], **KNOWN)  # type: ignore[arg-type]
