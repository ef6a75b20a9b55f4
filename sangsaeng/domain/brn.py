"""사업자등록번호 (BRN) normalisation and check digit — PROGRAM_RULES C1."""

from __future__ import annotations

import re

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_SHAPE = re.compile(r"^[0-9]{3}-?[0-9]{2}-?[0-9]{5}$")  # ASCII digits only


class InvalidBRN(ValueError):
    """A BRN that is malformed or fails its check digit."""


def check_digit(first_nine: str) -> int:
    """C1: the 10th digit computed from the first nine."""
    digits = [int(c) for c in first_nine]
    s = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True)) + (digits[8] * 5) // 10
    return (10 - s % 10) % 10


def normalize_brn(value: str) -> str:
    """Return the BRN as `XXX-XX-XXXXX`, or raise InvalidBRN saying why."""
    text = value.strip()
    if not _SHAPE.match(text):
        raise InvalidBRN(f"사업자등록번호가 아닙니다 (XXX-XX-XXXXX 형식): {text!r}")
    digits = text.replace("-", "")
    if int(digits[9]) != check_digit(digits[:9]):
        raise InvalidBRN(f"사업자등록번호의 검증 숫자가 맞지 않습니다: {text!r}")
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def is_valid_brn(value: str) -> bool:
    """C1: True iff `value` is a well-formed BRN with a correct check digit."""
    try:
        normalize_brn(value)
    except InvalidBRN:
        return False
    return True
