"""Embedded delivery (issue 14 item 2): with no SMTP host, messages are written to var/mail/ by
the sender itself — the bytes the embedded SMTP server stored, the same outbox states — and the
SMTP path is still used whenever a server is set.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import update

from sangsaeng.db import get_engine, session_scope
from sangsaeng.mail.connection import Envelope
from sangsaeng.mail.delivery import transport_for
from sangsaeng.mail.embedded import FileDrop, embedded_server, wire_bytes
from sangsaeng.mail.outbox import claim, enqueue, mail_context
from sangsaeng.mail.sender import DeliveryPolicy, Sender, SmtpServer, Transport
from sangsaeng.models import OUTBOX
from sangsaeng.settings import get_settings
from tests.mail.helpers import ROUND, open_round, owe, received_notice, rows, send
from tests.mail.smtp_server import ScriptedServer

STATE = ("state", "attempts", "last_reply", "sent_at", "claim_token", "lease_until",
         "message_id")


def stored(folder: Path) -> dict[str, list[bytes]]:
    """The `.eml` files of a folder by Message-ID; fails on a temporary file left behind."""
    assert not [p.name for p in folder.iterdir() if not p.name.endswith(".eml")]
    found: dict[str, list[bytes]] = {}
    for path in sorted(folder.glob("*.eml")):
        data = path.read_bytes()
        mid = str(email.message_from_bytes(data, policy=policy.default)["Message-ID"])
        found.setdefault(mid, []).append(data)
    return found


def _owe_varied(count: int) -> None:
    """Receipt notices, one with a long Korean name (folded `To:`), one with List-Unsubscribe."""
    open_round()
    notices = [received_notice(i) for i in range(1, count + 1)]
    notices[0] = received_notice(1, name="주식회사 " + "한빛정밀공작소" * 6)
    notices[1] = dataclasses.replace(notices[1], unsubscribe="tok_A-1")
    with session_scope(get_engine()) as session:
        enqueue(session, ROUND, notices)


def _run(transport: Transport, clock: Callable[[], datetime], connections: int = 4) -> None:
    sender = Sender(get_engine(), transport, mail_context().sender, clock=clock,
                    policy=DeliveryPolicy(connections=connections, batch=5),
                    unsubscribe_url="https://smpp.example/unsubscribe")
    report = asyncio.run(sender.run())
    assert (report.sent, report.failed, report.retry_later) == (12, 0, 0)


def _states() -> dict[str, tuple[object, ...]]:
    return {k: tuple(getattr(r, c) for c in STATE) for k, r in rows().items()}


def test_the_file_transport_stores_byte_for_byte_what_the_embedded_smtp_server_stored(
        env: Path) -> None:
    _owe_varied(12)
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    with embedded_server(env / "via-smtp") as (host, port):
        _run(SmtpServer(host, port, timeout=10), lambda: at)
    after_smtp = _states()
    with session_scope(get_engine()) as session:  # the same rows, owed again
        session.execute(update(OUTBOX).values(state="pending", attempts=0, sent_at=None,
                                              last_reply="", next_attempt_at=at))
    _run(FileDrop(env / "via-files"), lambda: at, connections=1)
    via_smtp, via_files = stored(env / "via-smtp"), stored(env / "via-files")
    assert len(via_files) == 12 and via_files == via_smtp  # every byte, per Message-ID
    assert set(via_files) == {r.message_id for r in rows().values()}
    assert _states() == after_smtp  # sent, 1 attempt, "250 2.0.0 stored", same sent_at
    first = next(iter(after_smtp.values()))
    assert first[:5] == ("sent", 1, "250 2.0.0 stored", at, None)
    both = b"".join(d for (d,) in via_files.values())
    assert b"List-Unsubscribe:\r\n <https://smpp.example/unsubscribe/tok_A-1>" in both
    assert b"\r\n <company001@example.com>" in both  # the long name's folded To:


def test_embedded_defaults_write_each_message_once_and_a_rerun_writes_nothing(
        env: Path) -> None:
    recipients = owe(7)
    with transport_for(get_settings()) as transport:
        assert isinstance(transport, FileDrop)  # no SMTP server at all
    report = send()
    assert (report.sent, report.failed, report.retry_later, report.reconnects) == (7, 0, 0, 0)
    files = stored(env / "mail")
    assert sorted(files) == sorted(r.message_id for r in rows().values())
    assert all(len(copies) == 1 for copies in files.values())
    for row in rows().values():
        assert (row.state, row.attempts, row.claim_token, row.lease_until) == (
            "sent", 1, None, None)
        assert row.sent_at is not None and row.last_reply == "250 2.0.0 stored"
    tos = {str(email.message_from_bytes(d, policy=policy.default)["To"].addresses[0].addr_spec)
           for (d,) in files.values()}
    assert tos == set(recipients)
    names = {p.name for p in (env / "mail").iterdir()}
    assert send().sent == 0  # a sent row is never written again
    assert {p.name for p in (env / "mail").iterdir()} == names


def test_rows_left_sending_by_a_crashed_sender_are_written_with_the_same_message_id(
        env: Path) -> None:
    owe(5)
    now = datetime.now(UTC)
    with session_scope(get_engine()) as session:  # a sender took 3 rows, then died …
        crashed = claim(session, now=now, lease=timedelta(minutes=5), limit=3, token="d" * 32)
        session.execute(update(OUTBOX).where(OUTBOX.c.state == "sending")  # … long ago
                        .values(lease_until=now - timedelta(minutes=1)))
    assert {r.state for r in rows().values()} == {"sending", "pending"}
    report = send()
    assert report.sent == 5
    files = stored(env / "mail")
    assert all(len(copies) == 1 for copies in files.values()) and len(files) == 5
    by_id = {r.id: r for r in rows().values()}
    for row in crashed:
        assert row.message_id in files
        assert (by_id[row.id].state, by_id[row.id].attempts) == ("sent", 2)
        assert by_id[row.id].message_id == row.message_id


def test_an_smtp_host_sends_over_smtp_even_when_files_are_asked_for(
        smtp: ScriptedServer, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANGSAENG_MAIL_EMBEDDED", "files")
    get_settings.cache_clear()
    recipients = owe(3)
    assert send().sent == 3
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(recipients)
    assert not (env / "mail").exists()


def test_mail_embedded_smtp_goes_through_the_embedded_smtp_server(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANGSAENG_MAIL_EMBEDDED", "smtp")
    get_settings.cache_clear()
    with transport_for(get_settings()) as transport:
        assert isinstance(transport, SmtpServer) and transport.host == "127.0.0.1"
    owe(3)
    assert send().sent == 3
    assert len(stored(env / "mail")) == 3


class GatedDrop:
    """The real file drop behind a gate: the next `hold` messages wait before they are written
    (a sender stuck mid-send, as the scripted SMTP server's held DATA in test_leases)."""

    def __init__(self, folder: Path, hold: int) -> None:
        self.files, self.hold, self.held = FileDrop(folder), hold, 0
        self.gate = asyncio.Event()

    @property
    def where(self) -> str:
        return self.files.where

    async def open(self, envelope: Envelope) -> GatedDrop.Channel:
        return GatedDrop.Channel(self, envelope)

    class Channel:
        usable = True

        def __init__(self, drop: GatedDrop, envelope: Envelope) -> None:
            self.drop, self.envelope = drop, envelope

        async def send(self, recipient: str, data: bytes) -> str:
            if self.drop.hold > 0:
                self.drop.hold -= 1
                self.drop.held += 1
                await self.drop.gate.wait()
            channel = await self.drop.files.open(self.envelope)
            return await channel.send(recipient, data)

        def drop(self) -> None:
            """Nothing to close."""

        async def close(self, *, abrupt: bool = False) -> None:
            """Nothing to close."""


def test_a_file_sender_stalled_past_its_lease_writes_nothing_that_others_took(
        env: Path) -> None:
    owe(30)
    lease = timedelta(seconds=60)
    shift = timedelta(0)
    gated = GatedDrop(env / "mail", hold=2)

    def sender(transport: Transport) -> Sender:
        return Sender(get_engine(), transport, mail_context().sender,
                      policy=DeliveryPolicy(connections=2, lease=lease),
                      clock=lambda: datetime.now(UTC) + shift)

    async def scenario() -> tuple[Sender, list[Sender]]:
        nonlocal shift
        stalled = sender(gated)
        first = asyncio.create_task(stalled.run())
        for _ in range(6000):  # not a timing assertion: wait for both workers at the gate
            if gated.held == 2:
                break
            await asyncio.sleep(0.01)
        assert gated.held == 2
        shift = lease + timedelta(seconds=1)  # the stall outlasts the lease
        others = [sender(FileDrop(env / "mail")) for _ in range(2)]
        await asyncio.gather(*(s.run() for s in others))  # they take the stalled one's rows
        gated.gate.set()  # the stalled sender resumes
        await first
        return stalled, others

    stalled, others = asyncio.run(scenario())
    files = stored(env / "mail")
    duplicates = sum(len(copies) - 1 for copies in files.values())
    assert duplicates <= 2, f"{duplicates} duplicates; in flight at the stall: 2"
    assert set(files) == {r.message_id for r in rows().values()}
    assert {r.state for r in rows().values()} == {"sent"}
    assert sum(s.report.sent for s in others) == 30
    assert stalled.report.sent == 0 and stalled.report.taken_over == 30


@pytest.mark.parametrize("data", [
    pytest.param(b"A: b\r\n\r\nbody\r\n", id="crlf"),
    pytest.param(b"A: b\n\nbody", id="bare-lf-no-final"),
    pytest.param(b"A: b\r\n\r\nx\ry\n\rz", id="mixed"),
])
def test_wire_bytes_are_what_aiosmtplib_puts_on_the_wire(data: bytes) -> None:
    from aiosmtplib.protocol import normalize_message_line_endings

    assert wire_bytes(data) == normalize_message_line_endings(data)
