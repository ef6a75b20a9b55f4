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

import asyncio
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

    TIME = "%Y%m%dT%H%M%S"  # the UTC time a file's name starts with (services/privacy.py)

    def name(self, data: bytes) -> str:
        """The next file name for `data`."""
        found = _MESSAGE_ID.search(data)
        tag = found.group(1).decode("ascii", "replace")[:16] if found else "no-id"
        with self._lock:
            return f"{datetime.now(UTC).strftime(self.TIME)}-{next(self._seq):06d}-{tag}.eml"

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

    def __init__(self, files: FileDrop) -> None:
        self.files = files

    async def send(self, recipient: str, data: bytes) -> str:
        try:  # the address check of the SMTP path (connection.transaction)
            valid_address(recipient)
        except InvalidAddress as exc:
            raise ValueError(str(exc)) from None
        try:
            await self.files.store(wire_bytes(data))
        except OSError as exc:  # a full disk: retried later, as a server's 4xx
            raise aiosmtplib.SMTPDataError(451, f"4.3.0 cannot store the message: {exc}"
                                           ) from None
        return STORED

    def drop(self) -> None:
        """Nothing to close."""

    async def close(self, *, abrupt: bool = False) -> None:
        """Nothing to close."""


class FileDrop:
    """The transport of embedded defaults: messages written straight to the folder.

    The files of all channels are written in batches by one thread: creating, writing and
    renaming a file is mostly the kernel's time (0.1–1 ms here), which then overlaps the
    sender's own work on the event loop instead of adding to it. A message counts as sent
    once its file has its name.
    """

    workers = 16  # channels of one run: what may be written in one batch

    def __init__(self, folder: Path) -> None:
        self.folder = MailFolder(folder)
        self._queue: list[tuple[bytes, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def store(self, data: bytes) -> None:
        """Write one message with the next batch; raises the OSError that stopped it."""
        done = asyncio.get_running_loop().create_future()
        self._queue.append((data, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_batches())
        await done

    async def _write_batches(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            errors = await asyncio.to_thread(self._write_all, [data for data, _ in batch])
            for (_, done), error in zip(batch, errors, strict=True):
                if done.cancelled():  # its run was cancelled: the file may exist (as on SMTP)
                    continue
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)

    def _write_all(self, batch: list[bytes]) -> list[OSError | None]:
        errors: list[OSError | None] = []
        for data in batch:
            try:
                self.folder.store(data)
                errors.append(None)
            except OSError as exc:
                errors.append(exc)
        return errors

    @property
    def where(self) -> str:
        return str(self.folder.folder)

    async def open(self, envelope: Envelope) -> FileChannel:
        """The folder, created if need be (an OSError counts as a failed connect)."""
        self.folder.folder.mkdir(parents=True, exist_ok=True)
        return FileChannel(self)


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
