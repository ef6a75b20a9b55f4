"""Natural ordering of receipt numbers and reviewer ids (C5, V5, V8, A1)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"([0-9]+)")

NaturalKey = tuple[tuple[str | int, ...], str]


def natural_key(text: str) -> NaturalKey:
    """Sort key that compares digit runs as numbers: "2022-2-999" < "2022-2-1000", "R9" < "R10"."""
    # re.split with a capture group alternates text, digits, text, ... so positions of equal
    # parity always hold the same type and tuples never compare str with int.
    parts = _DIGITS.split(text)
    key = tuple(int(part) if i % 2 else part for i, part in enumerate(parts))
    # The verbatim text breaks ties such as "R07" vs "R7" so the order is total.
    return key, text
