"""Round-package values — INTERFACES §2: one parser per kind of cell.

Each parser takes a cell's stripped text and returns the value, or raises ValueError whose
message is what the user (the office) sees in the RowError, in Korean; the rule it applies is
named in the parser's docstring, not in the message.
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
_LINE_BREAK, _TAB, _PARAGRAPH = "줄바꿈 문자", "탭 문자", "문단 바꿈 문자"
_OTHER_CONTROL = "제어 문자"
_CONTROL_NAMES = {"\n": _LINE_BREAK, "\r": _LINE_BREAK, "\t": _TAB,
                  "\u2028": _LINE_BREAK, "\u2029": _PARAGRAPH,
                  **dict.fromkeys("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
                                  "양방향 제어 문자"),
                  **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", "폭 없는 문자")}


def required(text: str) -> str:
    """A non-empty cell, as is."""
    if not text:
        raise ValueError("값이 없습니다")
    return text


def single_line(text: str) -> str:
    """Text printed on one line (names on notices, lists and certificates): no line break, tab
    or other control character — a spreadsheet's Alt+Enter would otherwise reach the mails."""
    found = _CONTROL.search(text)
    if found is not None:
        char = found.group()
        what = _CONTROL_NAMES.get(char, _OTHER_CONTROL)
        rule = ("한 줄로 써야 합니다" if what in (_LINE_BREAK, _TAB, _PARAGRAPH, _OTHER_CONTROL)
                else "이름이 다른 이름처럼 보일 수 있습니다")
        raise ValueError(f"{what}(U+{ord(char):04X})가 들어 있습니다: {rule}")
    return text


def name(text: str) -> str:
    """A product, company or reviewer name: non-empty and one line (`single_line`)."""
    return single_line(required(text))


def brn(text: str) -> str:
    """C1: a BRN, normalised to XXX-XX-XXXXX."""
    if not _BRN.fullmatch(required(text)):
        raise ValueError("사업자등록번호가 아닙니다 (XXX-XX-XXXXX 형식의 숫자 10자리)")
    try:
        return normalize_brn(text)
    except InvalidBRN:
        raise ValueError("사업자등록번호의 검증 숫자가 맞지 않습니다") from None


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
    raise ValueError("올바른 날짜가 아닙니다 (YYYY-MM-DD 형식)")


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
    raise ValueError("올바른 날짜와 시각이 아닙니다 (ISO 8601 형식, 예: 2022-05-14T17:39:00)")


def boolean(text: str) -> bool:
    """A yes/no cell: true/false, Y/N or 1/0, any case."""
    try:
        return _BOOLEANS[required(text).lower()]
    except KeyError:
        raise ValueError("예/아니요 값이 아닙니다 (true/false, Y/N 또는 1/0)") from None


def seq(text: str) -> int:
    """A sequence number: a whole number from 1."""
    if not _WHOLE.fullmatch(required(text)) or int(text) < 1:
        raise ValueError("양의 정수가 아닙니다")
    return int(text)


def krw(text: str) -> int:
    """M2: an amount in whole KRW from 1 to MAX_CLAIM_KRW: digits, or digits in groups of
    three with commas (`6000000`, `6,000,000`); no decimals, no unit, no sign, no other
    separator."""
    if _GROUPED.fullmatch(required(text)):
        text = text.replace(",", "")
    digits = text.lstrip("0")
    if not text.isascii() or not _WHOLE.fullmatch(text) or not digits:
        raise ValueError("원 단위의 정수 금액이 아닙니다 (숫자만, 예: 6000000 또는 6,000,000)")
    if len(digits) > len(str(MAX_CLAIM_KRW)) or int(digits) > MAX_CLAIM_KRW:  # length first:
        # no int() of a thousand digits
        raise ValueError(f"청구할 수 있는 최대 금액({MAX_CLAIM_KRW:,}원)을 넘습니다")
    return int(digits)


def role(text: str) -> str:
    """C5: a participant role, one of ROLES."""
    if required(text) not in ROLES:
        raise ValueError(f"참여 역할이 아닙니다 ({' 또는 '.join(ROLES)})")
    return text


def size(text: str) -> str:
    """C3: a company size class, one of SIZES."""
    if required(text) not in SIZES:
        raise ValueError(f"기업 규모가 아닙니다 ({', '.join(SIZES)} 중 하나)")
    return text


def product_code(text: str) -> str:
    """A product code: exactly 10 digits."""
    if not _PRODUCT_CODE.fullmatch(required(text)):
        raise ValueError("물품분류번호가 아닙니다 (숫자 10자리)")
    return text


def email(text: str) -> str:
    """One plain e-mail address (no display name, no list)."""
    if not is_valid_address(required(text)):  # the same strict rule as at enqueue (mail.headers)
        raise ValueError("이메일 주소 하나가 아닙니다 (표시 이름 없이 주소 하나만)")
    return text


def score_parser(maximum: Decimal) -> Callable[[str], Decimal]:
    """V2: the domain's score rule for one criterion: [0, max], at most one decimal, canonical
    form (21.70 → 21.7, 32 → 32.0); a blank cell never reaches here (an incomplete sheet, V4)."""
    return partial(parse_score, maximum=maximum)
