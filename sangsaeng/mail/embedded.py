"""Embedded delivery: each message stored as `.eml` under var/mail/ (no SMTP host configured).

Used on embedded defaults (demo, tests, a laptop), so that the office can open every message.
Two ways in, one folder (`MailFolder`), the same bytes:

- `FileDrop` (the default): a transport whose channel "sends" by writing the file. It stores
  exactly what an SMTP server receives from the sender: the composed message with aiosmtplib's
  line-end normalisation (the server undoes the dot-stuffing). As fast as the sender can
  compose, claim and record: no SMTP dialogue, no second event loop.
- `embedded_server` (`SANGSAENG_MAIL_EMBEDDED=smtp`): aiosmtpd on loopback with `MailDrop`, the
  whole SMTP dialogue as in production — a few hundred messages/s at most (FIELD_NOTES).
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtplib.protocol import normalize_message_line_endings

from sangsaeng.mail.connection import Envelope
from sangsaeng.mail.headers import InvalidAddress, valid_address

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^@>]{1,64})", re.IGNORECASE | re.MULTILINE)
STORED = "250 2.0.0 stored"


class MailFolder:
    """One `.eml` file per message, named `<UTC time>-<sequence>-<Message-ID prefix>.eml`.

    Each file is written under a hidden temporary name and renamed: a file with an `.eml` name
    is complete (no fsync: a power cut may lose the last ones, as a local server would).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def name(self, data: bytes) -> str:
        """The next file name for `data`."""
        found = _MESSAGE_ID.search(data)
        tag = found.group(1).decode("ascii", "replace")[:16] if found else "no-id"
        with self._lock:
            return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{next(self._seq):06d}-{tag}.eml"

    def store(self, data: bytes) -> Path:
        """Write one message; returns its file."""
        name = self.name(data)
        part, path = self.folder / f".{name}.part", self.folder / name
        try:
            part.write_bytes(data)
        except FileNotFoundError:  # the folder is new, or was removed meanwhile
            self.folder.mkdir(parents=True, exist_ok=True)
            part.write_bytes(data)
        os.replace(part, path)
        return path


def wire_bytes(data: bytes) -> bytes:
    """The message as the server stores it: line ends made CRLF, a final CRLF (aiosmtplib)."""
    crlf = data.count(b"\r\n")
    if crlf == data.count(b"\r") == data.count(b"\n") and data.endswith(b"\r\n"):
        return data  # the composer's output: nothing to change (no regex pass over 8 KiB)
    return normalize_message_line_endings(data)


class FileChannel:
    """A worker's channel into the folder: answers as a server would (250, 451 if it cannot)."""

    usable = True

    def __init__(self, folder: MailFolder) -> None:
        self.folder = folder

    async def send(self, recipient: str, data: bytes) -> str:
        try:  # the address check of the SMTP path (connection.transaction)
            valid_address(recipient)
        except InvalidAddress as exc:
            raise ValueError(str(exc)) from None
        try:
            self.folder.store(wire_bytes(data))
        except OSError as exc:  # a full disk: retried later, as a server's 4xx
            raise aiosmtplib.SMTPDataError(451, f"4.3.0 cannot store the message: {exc}"
                                           ) from None
        return STORED

    def drop(self) -> None:
        """Nothing to close."""

    async def close(self, *, abrupt: bool = False) -> None:
        """Nothing to close."""


class FileDrop:
    """The transport of embedded defaults: messages written straight to the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = MailFolder(folder)

    @property
    def where(self) -> str:
        return str(self.folder.folder)

    async def open(self, envelope: Envelope) -> FileChannel:
        """The folder, created if need be (an OSError counts as a failed connect)."""
        self.folder.folder.mkdir(parents=True, exist_ok=True)
        return FileChannel(self.folder)


class MailDrop:
    """aiosmtpd handler: one `.eml` file per accepted message, the bytes as sent."""

    def __init__(self, folder: Path) -> None:
        self.folder = MailFolder(folder)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        self.folder.store(data)
        return STORED


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def embedded_server(folder: Path) -> Iterator[tuple[str, int]]:
    """Run the local SMTP server while the block runs; yields (host, port)."""
    controller = Controller(MailDrop(folder), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.hostname, controller.port
    finally:
        controller.stop()
