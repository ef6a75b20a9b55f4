"""Round-package values — INTERFACES §2: one parser per kind of cell.

Each parser takes a cell's stripped text and returns the value, or raises ValueError whose
message is what the user sees in the RowError.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from sangsaeng.domain.addresses import is_valid_address
from sangsaeng.domain.brn import InvalidBRN, normalize_brn
from sangsaeng.domain.claims import MAX_CLAIM_KRW
from sangsaeng.domain.clock import parse_instant
from sangsaeng.domain.scoring import parse_score
from sangsaeng.io.rows import ROLES, SIZES

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")
_BRN = re.compile(r"[0-9]{3}-?[0-9]{2}-?[0-9]{5}")
_PRODUCT_CODE = re.compile(r"[0-9]{10}")
_WHOLE = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(,[0-9]{3})+")  # 6,000,000 as a spreadsheet shows it
_BOOLEANS = {"true": True, "false": False, "y": True, "n": False, "1": True, "0": False}
# C0 and C1 controls (line breaks, tabs, …), Unicode's line and paragraph separators, and what
# lets a name look like another: bidirectional controls (U+202A–U+202E, U+2066–U+2069: text shown
# reversed) and zero-width characters (U+200B–U+200D, U+2060, U+FEFF: two names alike, not equal).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                      "\u200b-\u200d\u2060\ufeff]")
_CONTROL_NAMES = {"\n": "a line break", "\r": "a line break", "\t": "a tab",
                  "\u2028": "a line break", "\u2029": "a paragraph break",
                  **dict.fromkeys("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
                                  "a bidirectional control"),
                  **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", "a zero-width character")}


def required(text: str) -> str:
    """A non-empty cell, as is."""
    if not text:
        raise ValueError("value is missing")
    return text


def single_line(text: str) -> str:
    """Text printed on one line (names on notices, lists and certificates): no line break, tab
    or other control character — a spreadsheet's Alt+Enter would otherwise reach the mails."""
    found = _CONTROL.search(text)
    if found is not None:
        char = found.group()
        what = _CONTROL_NAMES.get(char, "a control character")
        rule = ("it must be one line" if what in ("a line break", "a tab", "a paragraph break",
                                                  "a control character")
                else "it could make the name look like another")
        raise ValueError(f"holds {what} (U+{ord(char):04X}): {rule}")
    return text


def name(text: str) -> str:
    """A product, company or reviewer name: non-empty and one line (`single_line`)."""
    return single_line(required(text))


def brn(text: str) -> str:
    """C1: a BRN, normalised to XXX-XX-XXXXX."""
    if not _BRN.fullmatch(required(text)):
        raise ValueError("not a BRN (expected 10 digits as XXX-XX-XXXXX)")
    try:
        return normalize_brn(text)
    except InvalidBRN:
        raise ValueError("BRN check digit fails") from None


def optional_brn(text: str) -> str | None:
    """C1: a BRN as `brn` does, or None for an empty cell."""
    return brn(text) if text else None


def date(text: str) -> dt.date:
    """A calendar date written YYYY-MM-DD."""
    if _DATE.fullmatch(required(text)):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError("not a valid date (expected YYYY-MM-DD)")


def optional_date(text: str) -> dt.date | None:
    """A date as `date` does, or None for an empty cell."""
    return date(text) if text else None


def instant(text: str) -> dt.datetime:
    """T1: ISO 8601 date and time; naive = KST. A bare date is refused (it would mean 00:00)."""
    if _INSTANT.match(required(text)) and text.isascii():
        try:
            return parse_instant(text)
        except ValueError:
            pass
    raise ValueError("not a valid date and time (expected ISO 8601, e.g. 2022-05-14T17:39:00)")


def boolean(text: str) -> bool:
    """A yes/no cell: true/false, Y/N or 1/0, any case."""
    try:
        return _BOOLEANS[required(text).lower()]
    except KeyError:
        raise ValueError("not a yes/no value (expected true/false, Y/N or 1/0)") from None


def seq(text: str) -> int:
    """A sequence number: a whole number from 1."""
    if not _WHOLE.fullmatch(required(text)) or int(text) < 1:
        raise ValueError("not a positive whole number")
    return int(text)


def krw(text: str) -> int:
    """M2: an amount in whole KRW from 1 to MAX_CLAIM_KRW: digits, or digits in groups of
    three with commas (`6000000`, `6,000,000`); no decimals, no unit, no sign, no other
    separator."""
    if _GROUPED.fullmatch(required(text)):
        text = text.replace(",", "")
    digits = text.lstrip("0")
    if not text.isascii() or not _WHOLE.fullmatch(text) or not digits:
        raise ValueError("not a whole KRW amount (expected digits, e.g. 6000000 or 6,000,000)")
    if len(digits) > len(str(MAX_CLAIM_KRW)) or int(digits) > MAX_CLAIM_KRW:  # length first:
        # no int() of a thousand digits
        raise ValueError(f"over the largest amount a claim may state ({MAX_CLAIM_KRW:,} KRW)")
    return int(digits)


def role(text: str) -> str:
    """C5: a participant role, one of ROLES."""
    if required(text) not in ROLES:
        raise ValueError(f"not a role (expected {' or '.join(ROLES)})")
    return text


def size(text: str) -> str:
    """C3: a company size class, one of SIZES."""
    if required(text) not in SIZES:
        raise ValueError(f"not a size class (expected one of {', '.join(SIZES)})")
    return text


def product_code(text: str) -> str:
    """A product code: exactly 10 digits."""
    if not _PRODUCT_CODE.fullmatch(required(text)):
        raise ValueError("not a product code (expected 10 digits)")
    return text


def email(text: str) -> str:
    """One plain e-mail address (no display name, no list)."""
    if not is_valid_address(required(text)):  # the same strict rule as at enqueue (mail.headers)
        raise ValueError("not a single plain e-mail address")
    return text


def score_parser(maximum: Decimal) -> Callable[[str], Decimal]:
    """V2: the domain's score rule for one criterion: [0, max], at most one decimal, canonical
    form (21.70 → 21.7, 32 → 32.0); a blank cell never reaches here (an incomplete sheet, V4)."""
    return partial(parse_score, maximum=maximum)
