"""A text cell a spreadsheet would evaluate is written as text (OWASP CSV injection)."""

from __future__ import annotations

import pytest

from sangsaeng.spreadsheet import neutralise


@pytest.mark.parametrize(("cell", "written"), [
    ('=HYPERLINK("http://x.example/","y")', '\'=HYPERLINK("http://x.example/","y")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-", "'-"),
], ids=["equals", "plus", "minus", "at", "tab", "carriage-return", "lone-minus"])
def test_a_cell_that_starts_like_a_formula_gets_a_quote(cell: str, written: str) -> None:
    assert neutralise(cell) == written


@pytest.mark.parametrize("cell", ["", "81.40", "-1", "+2.5", "12", "주식회사 자인인더스트리",
                                  "(주)에이씨앤티시스템", "a=b", "2022-2-001",
                                  "BELOW_CUTOFF;NO_SME"],
                         ids=["empty", "score", "negative", "signed", "rank", "korean", "paren",
                              "inner-equals", "receipt", "reasons"])
def test_numbers_and_other_text_stay_as_they_are(cell: str) -> None:
    assert neutralise(cell) == cell
