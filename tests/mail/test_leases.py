"""Leases fenced by a claim token, and runs that end early (issue 10, items 3 and 4).

A sender that stalls past its lease (SIGSTOP, a frozen VM) must not send rows that another
sender took meanwhile, nor write their outcome; a cancelled run gives back every row it holds.
The stall is simulated in-process and deterministically: the stalled sender's messages wait
mid-DATA at the server's gate, and the clocks of all senders move past its lease.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.mail.outbox import Outcome, claim, mail_context, record
from sangsaeng.mail.sender import DeliveryPolicy, Sender, SmtpServer
from sangsaeng.models import OUTBOX
from tests.mail.helpers import ROUND, owe, rows, send, sender_env
from tests.mail.smtp_server import ScriptedServer

LEASE = timedelta(seconds=60)
SANGSAENG = Path(sys.executable).parent / "sangsaeng"


class Clock:
    """The wall clock, moved on by `shift` (time that passed while a sender stalled)."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


def _sender(smtp: ScriptedServer, clock: Callable[[], datetime], connections: int = 2
            ) -> Sender:
    return Sender(get_engine(), SmtpServer("127.0.0.1", smtp.port, timeout=10),
                  mail_context().sender, policy=DeliveryPolicy(connections=connections,
                                                               lease=LEASE), clock=clock)


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for the server to reach a state (not a timing assertion: the limit is generous)."""
    for _ in range(6000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the server never reached the expected state")


def test_a_sender_stalled_past_its_lease_sends_nothing_that_two_others_took(
        smtp: ScriptedServer) -> None:
    owe(30)
    smtp.script.hold = 2  # the stalled sender's two connections stop mid-DATA
    stalled_clock = Clock()

    async def scenario() -> tuple[Sender, list[Sender]]:
        stalled = _sender(smtp, stalled_clock)
        first = asyncio.create_task(stalled.run())
        await _until(lambda: smtp.script.held == 2)  # 2 messages on the wire, 28 queued
        stalled_clock.shift = LEASE + timedelta(seconds=1)  # the stall outlasts the lease
        others = [_sender(smtp, stalled_clock) for _ in range(2)]
        await asyncio.gather(*(s.run() for s in others))  # they take the stalled one's rows
        smtp.script.gate.release(2)  # the stalled sender resumes
        await first
        return stalled, others

    stalled, others = asyncio.run(scenario())
    got = smtp.handler.message_ids()
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= 2, f"{duplicates} duplicates; in flight at the stall: 2"
    assert set(got) == {r.message_id for r in rows().values()}
    assert {r.state for r in rows().values()} == {"sent"}
    assert sum(s.report.sent for s in others) == 30
    assert stalled.report.sent == 0  # it does not report the others' rows as its own
    assert stalled.report.taken_over == 30 and stalled.report.released == 0


def test_an_outcome_or_a_renewal_is_written_only_by_the_holder_of_the_row(
        smtp: ScriptedServer) -> None:
    from sangsaeng.mail.outbox import renew

    owe(1)
    t0 = datetime.now(UTC)
    with session_scope(get_engine()) as session:
        (stale,) = claim(session, now=t0, lease=LEASE, limit=5, token="a" * 32)
        (taken,) = claim(session, now=t0 + LEASE * 2, lease=LEASE, limit=5, token="b" * 32)
        assert renew(session, [stale.id], until=t0 + LEASE * 9, token="a" * 32) == set()
    with get_engine().begin() as conn:  # the stalled holder's outcome arrives late
        assert record(conn, [Outcome(stale, "failed", "550 from a stale holder")],
                      token="a" * 32, now=t0, backoff=(60,)) == set()
    with get_engine().begin() as conn:  # … even one that believes its lease still holds
        record(conn, [Outcome(stale, "failed", "550 from a stale holder")], token="a" * 32,
               now=t0, backoff=(60,), held=True)
    (row,) = rows().values()
    assert (row.state, row.last_reply, row.lease_until) == ("sending", "", t0 + LEASE * 3)
    with get_engine().begin() as conn:
        assert record(conn, [Outcome(taken, "sent", "250 ok")], token="b" * 32, now=t0,
                      backoff=(60,)) == {taken.id}
    (row,) = rows().values()
    assert (row.state, row.last_reply, row.claim_token) == ("sent", "250 ok", None)


def test_a_cancelled_run_gives_back_every_row_it_holds_at_once(smtp: ScriptedServer) -> None:
    owe(20)
    smtp.script.hold = 2

    async def scenario() -> None:
        task = asyncio.create_task(_sender(smtp, Clock()).run())
        await _until(lambda: smtp.script.held == 2)  # 2 on the wire, 18 queued
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert {(r.state, r.lease_until) for r in rows().values()} == {("pending", None)}
    before = {r.recipient: r.message_id for r in rows().values()}
    smtp.script.gate.release(2)  # the server may still store the two cut off mid-DATA
    assert send().sent == 20
    assert {r.recipient: r.message_id for r in rows().values()} == before
    got = smtp.handler.message_ids()
    assert set(got) == set(before.values()) and sum(got.values()) <= 20 + 2


def test_send_tells_how_many_rows_another_sender_holds_and_until_when(
        smtp: ScriptedServer) -> None:
    from sangsaeng.mail.outbox import leased

    owe(3)
    t0 = datetime.now(UTC)
    with session_scope(get_engine()) as session:
        claim(session, now=t0, lease=LEASE, limit=2, token="c" * 32)
    report = send()
    assert report.sent == 1
    assert (report.leased, report.leased_until) == (2, t0 + LEASE)
    with session_scope(get_engine()) as session:
        assert leased(session, now=t0) == (2, t0 + LEASE)
        assert leased(session, now=t0, token="c" * 32) == (0, None)
        states = session.execute(select(OUTBOX.c.state)).scalars().all()
    assert sorted(states) == ["sending", "sending", "sent"]


def test_a_sender_stopped_by_sigstop_duplicates_at_most_one_message_per_connection(
        smtp: ScriptedServer, database_url: str, env: Path) -> None:
    """Issue 22 item 1, as it was found: `notices send` A with 4 connections and a 5 s lease, a
    server taking 0.3 s per message; A is stopped (SIGSTOP) once it has 4 more messages on the
    wire after the first 8 — before, the 4 of those 8 answered last still waited to be written,
    and 8 arrived twice. B sends the rest 8 s later, then A continues. A connection now sends
    its next message only once its last one is recorded: at most one duplicate per connection.

    The stop comes from the server as the 12th message arrives: A is then waiting for replies,
    not inside a commit (stopped there, it would hold SQLite's write lock and B would stop with
    "database is locked", nothing lost: docs/operations.md §6, Stalls)."""
    owe(60)
    smtp.script.delay = 0.3
    environ = sender_env(database_url, env, smtp.port,
                         SANGSAENG_SMTP_CONNECTIONS="4", SANGSAENG_MAIL_LEASE_SECONDS="5")
    command = [str(SANGSAENG), "notices", "send", "--round", ROUND]
    a = subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stopped = threading.Event()

    def stop_a(seen: int) -> None:
        if seen == 12:
            os.kill(a.pid, signal.SIGSTOP)
            stopped.set()

    smtp.script.on_data = stop_a
    try:
        assert stopped.wait(60), "A never had 12 messages on the wire"
        smtp.script.on_data = None
        time.sleep(8)  # A's leases (5 s) run out
        b = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120,
                           check=False)
    finally:
        os.kill(a.pid, signal.SIGCONT)
    a_out, a_err = (x.decode() for x in a.communicate(timeout=60))
    assert b.returncode == 0, b.stderr
    assert a.returncode == 0, a_err
    got = smtp.handler.message_ids()
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= 4, f"{duplicates} duplicates with 4 connections: {got.most_common(9)}"
    assert set(got) == {r.message_id for r in rows().values()}
    assert {r.state for r in rows().values()} == {"sent"}
    assert "taken over by another sender" in a_out, a_out  # A says it lost rows to B
