"""Delivery against a real SMTP server (aiosmtpd on loopback) that misbehaves on purpose.

ARCHITECTURE (the outbox) and issue 3: 4xx retried with backoff, 5xx failed with the reply and
the address suppressed, 421/disconnects reconnect, a lost final reply is retried with the same
Message-ID, a server that is down loses nothing, the circuit breaker stops a doomed batch.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.mail.outbox import claim, enqueue
from sangsaeng.mail.sender import DeliveryPolicy, Sender, SmtpServer
from sangsaeng.models import SUPPRESSIONS
from tests.mail.helpers import ROUND, make_due, owe, received_notice, rows, send
from tests.mail.smtp_server import ScriptedServer


def test_each_notice_is_delivered_once_in_korean_with_text_and_html(smtp: ScriptedServer
                                                                    ) -> None:
    recipients = owe(5)
    report = send()
    assert (report.sent, report.failed, report.retry_later) == (5, 0, 0)
    assert sorted(r.rcpt_tos for r in smtp.received) == [(a,) for a in sorted(recipients)]
    for got in smtp.received:
        msg = got.message
        subject = str(make_header(decode_header(got.message["Subject"])))
        assert subject.startswith("[공공조달 상생협력]") and "접수" in subject
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert got.mail_from == "sangsaeng@smpp.example"
    assert {r.state for r in rows().values()} == {"sent"}
    assert send().sent == 0  # a sent row is never sent again
    assert len(smtp.received) == 5


def test_451_then_250_is_delivered_once_after_the_backoff(smtp: ScriptedServer) -> None:
    first, *others = owe(3)
    smtp.script.rcpt[first] = deque(["451 4.7.1 greylisted, try again later"])
    report = send()
    assert (report.sent, report.retry_later) == (2, 1)
    row = rows()[first]
    assert (row.state, row.attempts, row.last_reply) == ("pending", 1, "451 4.7.1 greylisted, "
                                                                        "try again later")
    wait = row.next_attempt_at - datetime.now(UTC)
    assert timedelta(seconds=50) < wait <= timedelta(seconds=60)  # about 1 minute
    assert send().sent == 0  # not before its time
    make_due(first)
    assert send().sent == 1
    delivered = [r.rcpt_tos[0] for r in smtp.received]
    assert delivered.count(first) == 1 and sorted(delivered) == sorted([first, *others])
    assert rows()[first].state == "sent"


def test_550_fails_with_the_reply_and_suppresses_the_address_others_unaffected(
        smtp: ScriptedServer) -> None:
    bad, *good = owe(4)
    smtp.script.rcpt[bad] = deque(["550 5.1.1 no such user"])
    report = send()
    assert (report.sent, report.failed) == (3, 1)
    assert rows()[bad].state == "failed" and rows()[bad].last_reply == "550 5.1.1 no such user"
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(good)
    with session_scope(get_engine()) as session:
        assert session.execute(select(SUPPRESSIONS.c.address)).scalars().all() == [bad]
        # a later notice to the same address is not sent at all
        enqueue(session, ROUND, [received_notice(99, email=bad)])
    assert send().sent == 0
    later = [r for r in rows().values() if r.subject_id.endswith("-099")]
    assert later[0].state == "failed" and "suppressed" in later[0].last_reply


def test_421_and_dropped_connections_reconnect_and_finish_in_the_same_run(
        smtp: ScriptedServer) -> None:
    recipients = owe(6)
    smtp.script.data.extend(["421 4.3.2 service shutting down"])
    smtp.script.drop_before_body = 2
    report = send()
    assert report.sent == 6 and report.reconnects >= 3
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(recipients)


def test_connection_lost_after_the_body_is_redelivered_with_the_same_message_id(
        smtp: ScriptedServer) -> None:
    owe(3)
    smtp.script.drop_after_body = 1  # stored, but the final reply never reaches the sender
    report = send()
    assert report.sent == 3
    ids = smtp.handler.message_ids()
    assert sum(ids.values()) == 4 and len(ids) == 3  # one duplicate, recognisably the same
    duplicated = [mid for mid, n in ids.items() if n == 2]
    assert duplicated and duplicated[0] in {r.message_id for r in rows().values()}


def test_server_down_for_a_while_loses_nothing(smtp: ScriptedServer) -> None:
    recipients = owe(5)
    smtp.stop()
    report = send()
    assert report.stopped and "cannot connect" in report.stopped
    assert (report.sent, report.failed, report.released) == (0, 0, 5)
    assert {(r.state, r.attempts) for r in rows().values()} == {("pending", 0)}
    smtp.start()
    assert send().sent == 5
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(recipients)


def test_5xx_to_mail_from_stops_the_batch_and_fails_nobody(smtp: ScriptedServer) -> None:
    owe(5)
    smtp.script.mail.extend(["550 5.7.1 sender not allowed"])
    report = send()
    assert report.stopped and "550 5.7.1" in report.stopped
    assert report.sent + report.released == 5 and report.failed == 0
    assert {r.state for r in rows().values()} <= {"pending", "sent"}
    assert send().sent == report.released  # once the server accepts the sender


def test_a_temporary_failure_gives_up_after_the_configured_time(
        smtp: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from sangsaeng.settings import get_settings

    monkeypatch.setenv("SANGSAENG_MAIL_GIVE_UP_HOURS", "0.0001")  # 0.36 s
    get_settings.cache_clear()
    (address,) = owe(1)
    smtp.script.rcpt[address] = deque(["452 4.2.2 mailbox full"] * 5)
    asyncio.run(asyncio.sleep(0.5))
    assert send().failed == 1
    assert rows()[address].last_reply == "gave up after 1 attempts: 452 4.2.2 mailbox full"


def test_a_claimed_row_is_taken_again_only_after_its_lease_with_the_same_message_id(
        smtp: ScriptedServer) -> None:
    (address,) = owe(1)
    with session_scope(get_engine()) as session:  # a sender that crashes right after claiming
        (taken,) = claim(session, now=datetime.now(UTC), lease=timedelta(seconds=1), limit=10,
                         token="crashed")
    assert send().sent == 0  # leased to the crashed sender
    asyncio.run(asyncio.sleep(1.1))
    assert send().sent == 1
    assert smtp.received[0].message_id == taken.message_id == rows()[address].message_id


def test_two_senders_at_once_never_send_the_same_row(smtp: ScriptedServer) -> None:
    recipients = owe(60)
    server = SmtpServer("127.0.0.1", smtp.port)
    from sangsaeng.mail.outbox import mail_context

    async def both() -> list[int]:
        senders = [Sender(get_engine(), server, mail_context().sender,
                          policy=DeliveryPolicy(connections=2, batch=7)) for _ in range(2)]
        reports = await asyncio.gather(*(s.run() for s in senders))
        return [r.sent for r in reports]

    sent = asyncio.run(both())
    assert sum(sent) == 60
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(recipients)


def test_without_an_smtp_host_each_message_is_stored_under_var_mail(env: Path) -> None:
    owe(2)
    assert send().sent == 2
    stored = sorted((env / "mail").glob("*.eml"))
    assert len(stored) == 2
    assert all(b"Message-ID: <" in path.read_bytes() for path in stored)


def test_what_the_sender_sends_is_byte_for_byte_what_the_preview_builds(smtp: ScriptedServer
                                                                      ) -> None:
    """What the office previews (`notices.build`, the dry run) is what each company receives,
    byte for byte: the sender builds a claimed batch's headers at once and adds the date as
    each message goes (issue 24), for long Korean names, quoted ASCII ones and unsubscribe
    links alike."""
    from dataclasses import replace

    from sangsaeng.mail.outbox import mail_context
    from sangsaeng.services import notices
    from tests.mail.helpers import open_round

    open_round()
    at = datetime(2030, 3, 20, 1, 2, 3, tzinfo=UTC)
    owed = [received_notice(1), received_notice(2, name="주식회사 " + "아주길고긴이름" * 9),
            replace(received_notice(3, name='Kim "K" <k@x>, Ltd.'), unsubscribe="tok_en-3"),
            replace(received_notice(4), unsubscribe="tok-4")]
    url = "https://smpp.example/unsubscribe"
    with session_scope(get_engine()) as session:
        enqueue(session, ROUND, owed)
        preview = {row.recipient: data for row, data in notices.build(
            session, notices.pending(session, ROUND), unsubscribe_url=url, now=at)}
    sender = Sender(get_engine(), SmtpServer("127.0.0.1", smtp.port), mail_context().sender,
                    round_id=ROUND, unsubscribe_url=url, clock=lambda: at)
    assert asyncio.run(sender.run()).sent == 4
    assert {got.rcpt_tos[0]: got.data for got in smtp.received} == preview
