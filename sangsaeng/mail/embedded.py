"""The embedded SMTP server: aiosmtpd on loopback, each message stored as `.eml` under var/mail/.

Used when no SMTP host is configured (demo, tests, a laptop): the whole delivery path — SMTP
dialogue included — runs as in production, and the office can open every message.
"""

from __future__ import annotations

import itertools
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^@>]{1,64})", re.IGNORECASE | re.MULTILINE)


class MailDrop:
    """aiosmtpd handler: one `.eml` file per accepted message, named by time and Message-ID."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        found = _MESSAGE_ID.search(data)
        tag = found.group(1).decode("ascii", "replace")[:16] if found else "no-id"
        with self._lock:
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{next(self._seq):06d}-{tag}.eml"
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / name).write_bytes(data)
        return "250 2.0.0 stored"


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
