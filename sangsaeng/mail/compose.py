"""Composing messages: the part every recipient of a body shares is built once.

Measured here (FIELD_NOTES): building a Korean multipart `EmailMessage` costs 10–12 ms, half of
it folding a `To:` header with a long Korean name. So the body, `From:`, `Subject:` and the MIME
structure are built once per rendered body, as `EmailMessage` writes them (`shared_part`: the
stdlib folds the headers; with most bodies distinct — a round's notices name their company —
this is per message, so it is kept to ~0.4 ms); the per-recipient headers
(`To:`, `Message-ID:`, `Date:`, `List-Unsubscribe:`) are joined from values that are ASCII by
construction: `To:` from an `Address` whose name is sanitised and whose address is validated
(headers.py), encoded by the stdlib.

A body with attachments is `multipart/mixed`: that same alternative, then one base64 part per
file. The files are read (and their sha256 checked) when the shared part is built, once per
body; a body whose file cannot be sent as owed is kept as its failure, and each of its rows
fails with it (`AttachmentError`) instead of going out without the file or with another one.
"""

from __future__ import annotations

import binascii
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from sangsaeng.mail.attachments import AttachmentError, Fetch, digest_parts, read
from sangsaeng.mail.headers import clean_text, mailbox, mailbox_header
from sangsaeng.mail.outbox import Outgoing
from sangsaeng.mail.render import Rendered
from sangsaeng.settings import get_settings

_SMTP = policy.SMTP  # CRLF line ends, as the wire wants


def boundary(rendered: Rendered, sender: Address) -> str:
    """The MIME boundary, derived from the content: the same row composes to the same bytes
    in every run (a retry, the file drop, a preview), where the stdlib's is random. It cannot
    occur in the parts: they are base64, whose alphabet has no `-` nor `_`."""
    blob = "\0".join((str(sender), rendered.subject, rendered.text, rendered.html))
    return "=_" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:40]


def mixed_boundary(rendered: Rendered, sender: Address) -> str:
    """The outer boundary of a body with attachments: derived from the content, the files'
    names, types and sha256 included (other files, other boundary), never the inner one."""
    blob = "\0".join(("mixed", str(sender), rendered.subject, rendered.text, rendered.html,
                      *("\0".join(a) for a in digest_parts(rendered.attachments))))
    return "=_" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:40]


def folded(name: str, value: object) -> bytes:
    """One header as `EmailMessage` stores and writes it (policy SMTP): checked, encoded."""
    _, header = _SMTP.header_store_parse(name, value)  # refuses a value with a line break
    return _SMTP.fold_binary(name, header)


def _base64(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, CRLF-ended, as policy SMTP writes a part."""
    encoded = b"".join(binascii.b2a_base64(data[i:i + 57]) for i in range(0, len(data), 57))
    return encoded.replace(b"\n", b"\r\n")


def _part(mark: str, subtype: str, text: str, more: str = "") -> bytes:
    """One body part as `set_content(text, charset="utf-8", cte="base64")` writes it."""
    body = b"\r\n".join(text.encode("utf-8").splitlines()) + b"\r\n"
    return (f'--{mark}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: base64\r\n{more}\r\n").encode("ascii") + _base64(body)


def _file_part(mark: str, content_type: str, filename: str, data: bytes) -> bytes:
    """One attachment as `add_attachment(data, maintype, subtype, filename=…)` writes it."""
    return (f"\r\n--{mark}\r\n".encode("ascii") + folded("Content-Type", content_type)
            + b"Content-Transfer-Encoding: base64\r\n"
            + folded("Content-Disposition", f'attachment; filename="{filename}"')
            + b"MIME-Version: 1.0\r\n\r\n" + _base64(data))


def _mixed(rendered: Rendered, sender: Address, mark: str, files: Sequence[bytes]) -> bytes:
    """From the top-level Content-Type on: the alternative (boundary `mark`) inside a
    `multipart/mixed`, then the files, as `add_attachment` turns the message into."""
    if len(files) != len(rendered.attachments):
        raise ValueError("one file's bytes per attachment are needed")
    outer = mixed_boundary(rendered, sender)
    return (f'Content-Type: multipart/mixed;\r\n boundary="{outer}"\r\n\r\n'
            f'--{outer}\r\nContent-Type: multipart/alternative;\r\n boundary="{mark}"\r\n\r\n'
            .encode("ascii") + _part(mark, "plain", rendered.text) + b"\r\n"
            + _part(mark, "html", rendered.html, "MIME-Version: 1.0\r\n")
            + f"\r\n--{mark}--\r\n".encode("ascii")
            + b"".join(_file_part(outer, a.content_type, a.filename, data)
                       for a, data in zip(rendered.attachments, files, strict=True))
            + f"\r\n--{outer}--\r\n".encode("ascii"))


def shared_part(rendered: Rendered, sender: Address, from_line: bytes | None = None,
                files: Sequence[bytes] = ()) -> bytes:
    """Headers and MIME body common to every recipient of one rendered body.

    The bytes an `EmailMessage` (From, Subject, Auto-Submitted, text and HTML alternatives in
    base64, then any attachments) writes — tests/mail/test_compose.py holds that build and
    compares — in ~0.4 ms instead of 3.3: `From:` (1.4 ms to fold) comes folded once per
    sender (`from_line`), the MIME scaffolding is constant, only `Subject:` is folded per body
    by the stdlib. `files` are the bytes of `rendered.attachments`, checked (attachments.read).
    """
    mark = boundary(rendered, sender)
    head = (from_line or folded("From", sender)) + folded(
        "Subject", clean_text(rendered.subject, limit=300))
    if rendered.attachments:
        return head + b"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n" + _mixed(
            rendered, sender, mark, files)
    head += ("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
             f'Content-Type: multipart/alternative;\r\n boundary="{mark}"\r\n\r\n'
             ).encode("ascii")
    return (head + _part(mark, "plain", rendered.text) + b"\r\n"
            + _part(mark, "html", rendered.html, "MIME-Version: 1.0\r\n")  # as add_alternative
            + f"\r\n--{mark}--\r\n".encode("ascii"))


class Composer:
    """Builds each outgoing message from its row, caching the shared part per body."""

    def __init__(self, sender: Address, *, unsubscribe_url: str | None = None,
                 cache_size: int = 512, var_dir: Path | None = None,
                 fetch: Fetch | None = None) -> None:
        self.sender = sender
        self._from = folded("From", sender)
        self.unsubscribe_url = unsubscribe_url.rstrip("/") if unsubscribe_url else None
        self._var_dir = var_dir  # where attachments are; the settings' when not given
        self._fetch = fetch  # an attachment missing there: the program database's copy
        self._shared: OrderedDict[int, bytes] = OrderedDict()
        self._broken: OrderedDict[int, str] = OrderedDict()  # bodies whose files cannot go
        self._cache_size = cache_size
        self._date_second, self._date_text, self._date_bytes = -1, "", b""
        # rows claimed and not yet sent: their header lines but the date (or why they failed)
        self._prepared: dict[int, tuple[Outgoing, tuple[bytes, bytes] | Exception]] = {}

    def has_body(self, body_id: int) -> bool:
        """Whether the shared part of `body_id` is built already (or found unsendable)."""
        return body_id in self._shared or body_id in self._broken

    def add_body(self, body_id: int, rendered: Rendered) -> None:
        """Build and keep the shared part of one body (least recently used ones are dropped).

        Attachments are read here, once per body; one that cannot be sent as owed makes the
        body's messages raise `AttachmentError` (its rows fail, the others go on).
        """
        if rendered.attachments:
            var_dir = self._var_dir or get_settings().var_dir
            try:
                files = [read(a, var_dir, self._fetch) for a in rendered.attachments]
            except AttachmentError as exc:
                self._broken[body_id] = str(exc)
                if len(self._broken) > self._cache_size:
                    self._broken.popitem(last=False)
                return
            self._broken.pop(body_id, None)
            self._shared[body_id] = shared_part(rendered, self.sender, self._from, files)
        else:
            self._shared[body_id] = shared_part(rendered, self.sender, self._from)
        while len(self._shared) > self._cache_size:
            self._shared.popitem(last=False)

    def headers(self, row: Outgoing, now: datetime) -> bytes:
        """The per-recipient header block (no blank line).

        Every value is ASCII we made or validated: `To:` is an `Address` encoded by the stdlib
        (a non-ASCII name becomes one RFC 2047 word), the Message-ID is a digest, the token
        is URL-quoted. Joining them costs ~40 µs; a compat32 `Message` cost 130–220 µs.
        """
        head, tail = self._around_date(row)
        return head + self._date_line(now) + tail

    def _around_date(self, row: Outgoing) -> tuple[bytes, bytes]:
        """The header block's lines before `Date:` (To, Message-ID) and after it (the
        unsubscribe links): everything but the date depends on the row alone."""
        to = mailbox_header(mailbox(row.recipient_name, row.recipient))
        if len(to) > 74 and " <" in to:  # fold before the address, as compat32 does
            name, _, address = to.rpartition(" <")
            to = f"{name}\r\n <{address}"
        head = f"To: {to}\r\nMessage-ID: {row.message_id}\r\n"
        lines = []
        if row.unsubscribe:  # RFC 2369 / RFC 8058; the token is ours ([A-Za-z0-9_-])
            token = quote(row.unsubscribe, safe="")
            links = [f"<mailto:{self.sender.addr_spec}?subject=unsubscribe%20{token}>"]
            if self.unsubscribe_url:
                links.insert(0, f"<{self.unsubscribe_url}/{token}>")
                lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
            lines.append("List-Unsubscribe:\r\n " + ",\r\n ".join(links) + "\r\n")
        tail = "".join(lines)
        if "\n" in (head + tail).replace("\r\n ", "").replace("\r\n", ""):  # no bare line end
            raise ValueError(f"header block of outbox row {row.id} has a stray line end")
        # anything non-ASCII here is a bug: fail loudly
        return head.encode("ascii"), tail.encode("ascii")

    def prepare(self, rows: Sequence[Outgoing]) -> None:
        """Build the date-free part of these rows' header blocks now, in one go (issue 24: a
        batch of them costs about half as much CPU as the same headers built one per message
        between the sends); `message` uses it, and adds the date when the row is sent. A row
        whose headers cannot be built fails there, with the same error, as it would unprepared.
        """
        for row in rows:
            try:
                self._prepared[row.id] = (row, self._around_date(row))
            except Exception as exc:  # raised again by `message`, where the sender expects it
                self._prepared[row.id] = (row, exc)

    def forget(self, row: Outgoing) -> None:
        """Drop a prepared row that will not be sent (given back, taken over)."""
        self._prepared.pop(row.id, None)

    def _date(self, now: datetime) -> str:
        """RFC 5322 date, formatted once per second (it is the same for the whole second)."""
        second = int(now.timestamp())
        if second != self._date_second:
            self._date_second, self._date_text = second, format_datetime(now)
            self._date_bytes = f"Date: {self._date_text}\r\n".encode("ascii")
        return self._date_text

    def _date_line(self, now: datetime) -> bytes:
        """The `Date:` header line, built once per second."""
        self._date(now)
        return self._date_bytes

    def message(self, row: Outgoing, now: datetime) -> bytes:
        """The whole message as it goes over the wire; `AttachmentError` if its body's files
        cannot be sent as owed."""
        prepared = self._prepared.pop(row.id, None)
        try:
            shared = self._shared[row.body_id]
        except KeyError:
            if row.body_id in self._broken:
                raise AttachmentError(self._broken[row.body_id]) from None
            raise
        self._shared.move_to_end(row.body_id)
        if prepared is None or prepared[0] is not row:  # not prepared (or for another claim)
            return self.headers(row, now) + shared
        parts = prepared[1]
        if isinstance(parts, Exception):
            raise parts
        return parts[0] + self._date_line(now) + parts[1] + shared
