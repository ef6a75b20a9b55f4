"""Email addresses as the program accepts them: one strict, plain `local@domain` (inputs: the
round package, INTERFACES §2, and the company registry, §3).

An input rule, checked where an address enters (package import, company registry) and again
where a notice is queued: what is checked is exactly what is stored and sent (never stripped).
"""

from __future__ import annotations

import re

# A deliberately strict addr-spec: dot-atom local part, LDH domain labels, a TLD of letters.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"^{_LOCAL}@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$")


class InvalidAddress(ValueError):
    """An email address that fails strict validation (nothing is sent to it)."""


def valid_address(value: str) -> str:
    """The address itself if it is one plain `local@domain` (no name, comment, list or route)."""
    if (len(value) > 254 or not _ADDRESS.fullmatch(value) or ".." in value
            or "=?" in value):
        raise InvalidAddress(f"not a valid email address: {value!r}")
    return value


def is_valid_address(value: str) -> bool:
    """Whether `value` passes `valid_address`."""
    try:
        valid_address(value)
    except InvalidAddress:
        return False
    return True
