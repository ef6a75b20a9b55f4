"""Text cells for spreadsheets (CSV and XLSX exports): none is taken for a formula.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@` (and
some also after a tab or carriage return) — a product or company name such as
`=HYPERLINK("http://x.example/","y")` or `+cmd|' /C calc'!A0` would run when the office opens
the selection list. OWASP's remedy ("CSV injection"): such a cell gets a leading `'`, which
makes it text; the XLSX export also stores it as a string (never as a formula). A plain number
(`-1`, `+2.5`) is not a formula and stays as it is.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def is_formula_like(cell: str) -> bool:
    """True if a spreadsheet could read `cell` as a formula (not a plain number)."""
    return cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell)


def neutralise(cell: str) -> str:
    """`cell` as text a spreadsheet shows and never evaluates: prefixed with `'` if it
    starts like a formula, else unchanged."""
    return f"'{cell}" if is_formula_like(cell) else cell
