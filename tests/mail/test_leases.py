"""Leases fenced by a claim token, and runs that end early (issue 10, items 3 and 4).

A sender that stalls past its lease (SIGSTOP, a frozen VM) must not send rows that another
sender took meanwhile, nor write their outcome; a cancelled run gives back every row it holds.
The stall is simulated in-process and deterministically: the stalled sender's messages wait
mid-DATA at the server's gate, and the clocks of all senders move past its lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.mail.outbox import Outcome, claim, mail_context, record
from sangsaeng.mail.sender import DeliveryPolicy, Sender, SmtpServer
from sangsaeng.models import OUTBOX
from tests.mail.helpers import owe, rows, send
from tests.mail.smtp_server import ScriptedServer

LEASE = timedelta(seconds=60)


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
