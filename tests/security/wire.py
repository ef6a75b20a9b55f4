"""Reading what a real SMTP server received, as a mail server or a Python receiver would."""

from __future__ import annotations

import email
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from typing import Any

from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.models import OUTBOX
from tests.mail.smtp_server import Received

# What the sender writes (compose.py); List-Unsubscribe only on broadcasts.
HEADERS = frozenset({"to", "message-id", "date", "from", "subject", "auto-submitted",
                     "mime-version", "content-type"})
OPTIONAL = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
FORBIDDEN = (b"bcc:", b"cc:", b"x-injected", b"resent-")


def outbox_by_message_id() -> dict[str, Any]:
    """Every outbox row, by the Message-ID it is sent with."""
    o = OUTBOX.c
    with session_scope(get_engine()) as session:
        return {r.message_id: r for r in session.execute(
            select(o.message_id, o.kind, o.subject_id, o.recipient, o.recipient_name, o.state,
                   o.last_reply)).all()}


def header_block(data: bytes) -> bytes:
    head, sep, _ = data.partition(b"\r\n\r\n")
    assert sep, "no blank line between the header and the body"
    return head


def decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


def problems(got: Received, recipient: str) -> list[str]:
    """What is wrong with one received message meant for `recipient` alone (empty: nothing).

    Checked as an MTA reads it (the envelope, the raw header lines, compat32's parse of `To:`)
    and as a Python receiver that parses with policy.default and writes the message again
    (re-folding: gh-121284 / CVE-2024-6923 on 3.11.7).
    """
    found = []
    if list(got.rcpt_tos) != [recipient]:
        found.append(f"RCPT TO {list(got.rcpt_tos)}")
    block = header_block(got.data)
    if not block.count(b"\n") == block.count(b"\r\n") == block.count(b"\r"):
        found.append("a bare CR or LF in the header block")
    for line in block.split(b"\r\n"):
        if line.lower().startswith(FORBIDDEN):
            found.append(f"header line {line[:60]!r}")
    raw = email.message_from_bytes(got.data, policy=policy.compat32)
    assert isinstance(raw, Message)
    names = [k.lower() for k in raw]
    if len(names) != len(set(names)) or not HEADERS <= set(names) <= HEADERS | OPTIONAL:
        found.append(f"headers {sorted(names)}")
    pairs = getaddresses(raw.get_all("To") or [])
    if [address for _, address in pairs] != [recipient]:
        found.append(f"To: names {[address for _, address in pairs]}")
    elif "\n" in decoded(pairs[0][0]) or "\r" in decoded(pairs[0][0]):
        found.append("a line break in the decoded To: name")
    try:
        again = email.message_from_bytes(got.message.as_bytes(policy=policy.SMTP),
                                         policy=policy.default)
        refolded = [k.lower() for k in again]
        addresses = [a.addr_spec for a in again["To"].addresses]
    except ValueError as exc:  # the stdlib refuses a decoded name with a line break
        found.append(f"policy.default cannot read it: {exc}")
        return found
    if "x-injected" in refolded or "bcc" in refolded or "cc" in refolded:
        found.append(f"re-folded headers {refolded}")
    if addresses != [recipient]:
        found.append(f"re-folded To: {addresses}")
    return found


def to_name(got: Received) -> str:
    """The decoded display name of `To:` (as compat32 splits it, then RFC 2047-decoded)."""
    raw = email.message_from_bytes(got.data, policy=policy.compat32)
    return decoded(getaddresses([str(raw["To"])])[0][0])


def text_parts(got: Received) -> dict[str, str]:
    """The text/plain and text/html contents of a received message."""
    found = {}
    for part in got.message.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_subtype()] = part.get_content()
    return found
