"""Header safety (CVE-2024-6923 is open on the Python 3.11.7 of these machines).

Every user-derived header text is sanitised and every address validated before it reaches a
message; address headers are built from `email.headerregistry.Address` objects only.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from email.charset import BASE64, Charset
from email.headerregistry import Address
from email.utils import formataddr

from sangsaeng.domain import addresses
from sangsaeng.domain.addresses import is_valid_address as is_valid_address  # re-exported
from sangsaeng.errors import SangsaengError

# Controls (C0, DEL, C1), line and paragraph separators, and other line breaks Python splits on.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085\ufeff]+")
_ENCODED_WORD = re.compile(r"=\?")
_SPACES = re.compile(r"\s+")
MAX_NAME = 200


class InvalidAddress(SangsaengError):
    """An email address that fails strict validation (nothing is sent to it)."""


def clean_text(value: str, *, limit: int = MAX_NAME) -> str:
    """Header-safe text: no controls or line breaks, no encoded-word markers, one line."""
    text = unicodedata.normalize("NFC", value)
    text = _BREAKS.sub(" ", text)
    text = _ENCODED_WORD.sub("= ?", text)
    return _SPACES.sub(" ", text).strip()[:limit]


def valid_address(value: str) -> str:
    """The address itself if it is one plain `local@domain` (the domain's input rule); a user
    error otherwise."""
    try:
        return addresses.valid_address(value)
    except addresses.InvalidAddress as exc:
        raise InvalidAddress(str(exc)) from None


# Specials of RFC 5322 that a re-folding receiver (Python 3.11.7, gh-121284) may write back
# unquoted from a decoded encoded word: shown in full width in a non-ASCII name.
_FULL_WIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in '()<>[]:;@\\,."'})


def display_name(name: str) -> str:
    """A display name that stays one name: sanitised; a non-ASCII one has no specials."""
    text = clean_text(name)
    return text if text.isascii() else text.translate(_FULL_WIDTH)


def mailbox(name: str, address: str) -> Address:
    """An `Address` from a sanitised display name and a validated addr-spec."""
    local, _, domain = valid_address(address).rpartition("@")
    return Address(display_name=display_name(name), username=local, domain=domain)


# Base64 encoded words only: "shortest" makes the stdlib encode every name twice (QP and B).
_UTF8_B64 = Charset("utf-8")
_UTF8_B64.header_encoding = BASE64


def mailbox_header(box: Address) -> str:
    """One address header value; a non-ASCII name becomes one RFC 2047 word (cannot inject)."""
    return formataddr((box.display_name, box.addr_spec), charset=_UTF8_B64)


def message_id(key: str, domain: str) -> str:
    """A stable Message-ID for an outbox row's key: a retry carries the same one."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"
