"""Injection probes through the whole path: enqueue → deliver → what a real SMTP server received.

The issue: "a company name with `\\r\\nBcc:`, `=?UTF-8?Q?=0A?=Bcc:`, `a <evil@x>, b`, and
HTML/Jinja syntax — add no header, recipient or markup."
"""

from __future__ import annotations

import asyncio
import email
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.brn import check_digit
from sangsaeng.mail.delivery import deliver
from sangsaeng.mail.outbox import Notice, enqueue
from sangsaeng.mail.sender import DeliveryReport
from sangsaeng.models import OUTBOX, MailSuppression, Round
from sangsaeng.services.companies import broadcast_call, import_registry
from tests.mail.smtp_server import Received, ScriptedServer

ROUND = "2030-1"
TITLE = "2030년 1차 공공조달 상생협력 지원제도 참여기업 모집"
SENDER = "sangsaeng@smpp.example"
HEADERS = {"To", "Message-ID", "Date", "From", "Subject", "Auto-Submitted", "MIME-Version",
           "Content-Type"}

CRLF_BCC = "주식회사 한빛정밀\r\nBcc: x@evil.com"
ENCODED_WORD_BCC = "=?UTF-8?Q?=0A?=Bcc: x@evil.com"
DISPLAY_NAME_LIST = "a <evil@x>, b"
LONG_DISPLAY_NAME_LIST = "a <evil@x.com>, b 주식회사 한빛정밀 고정밀 유량계측기"
LINE_SEPARATOR_BCC = "주식회사 한빛정밀\u2028Bcc: x@evil.com"
SCRIPT = "<script>alert(1)</script>"
JINJA = "{{ 7*7 }} {% raw %}"
EVIL = re.compile(rb"evil", re.IGNORECASE)


# --- helpers --------------------------------------------------------------------------------

@pytest.fixture
def round_open(smtp: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Round]:
    """An open round in the database; mail goes to the `smtp` server, no unsubscribe URL."""
    from sangsaeng.settings import get_settings

    monkeypatch.delenv("SANGSAENG_UNSUBSCRIBE_URL", raising=False)
    monkeypatch.delenv("SANGSAENG_MAIL_FROM", raising=False)
    get_settings.cache_clear()
    rnd = Round(id=ROUND, title=TITLE, opens_at=datetime(2030, 3, 2, tzinfo=UTC),
                closes_at=datetime(2030, 3, 27, 9, tzinfo=UTC), tracks=["innovation"],
                support_years=3, settings={}, state="open")
    with session_scope(get_engine()) as session:
        session.add(rnd)
    yield rnd
    get_settings.cache_clear()


def notice(i: int, *, name: str = "주식회사 상생", email_to: str | None = None,
           product: str = "고정밀 유량계측기") -> Notice:
    """The i-th applicant's receipt notice; `name` is the company and the recipient's name."""
    payload: dict[str, Any] = {
        "round_id": ROUND, "round_title": TITLE, "receipt_no": f"{ROUND}-{i:03d}",
        "product_name": product, "track": "innovation", "company_name": name, "role": "lead",
        "submitted_at": "2030년 3월 20일(수) 10:00", "closes_at": "2030년 3월 27일(수) 18:00"}
    return Notice("application.received", "application", f"{ROUND}-{i:03d}",
                  email_to or f"company{i:03d}@example.com", name, payload)


def owe(*notices: Notice) -> int:
    with session_scope(get_engine()) as session:
        return enqueue(session, ROUND, list(notices))


def send(*, within: float = 60.0) -> DeliveryReport:
    """One delivery run of the round; a crash or a run that never ends fails the test."""

    async def run() -> DeliveryReport:
        task = asyncio.ensure_future(deliver(round_id=ROUND))
        done, _ = await asyncio.wait({task}, timeout=within)
        if not done:  # asyncio.run cancels it on the way out
            pytest.fail(f"the delivery run did not finish within {within} s")
        return task.result()

    try:
        return asyncio.run(run())
    except Exception as exc:
        pytest.fail(f"the delivery run crashed: {exc!r}")


def outbox_rows() -> list[Any]:
    with session_scope(get_engine()) as session:
        return list(session.execute(select(OUTBOX).order_by(OUTBOX.c.id)).all())


def raw_header_block(data: bytes) -> bytes:
    head, sep, _ = data.partition(b"\r\n\r\n")
    assert sep, "no blank line between header and body"
    return head


def header_lines(data: bytes) -> list[bytes]:
    """The physical lines of the header block (continuation lines included)."""
    return raw_header_block(data).split(b"\r\n")


def decoded(value: str) -> str:
    """A header value with its RFC 2047 words decoded."""
    return str(make_header(decode_header(value)))


def same_name(display: str, probe: str) -> bool:
    """The display name says the probe: line breaks and spaces aside (FIELD_NOTES: re-parsing
    may insert a space), and full-width look-alikes allowed for specials (NFKC)."""
    def squeeze(text: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))

    return squeeze(display) == squeeze(probe)


def parts(msg: EmailMessage) -> dict[str, str]:
    """text/plain and text/html contents of a received message."""
    found = {}
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_subtype()] = part.get_content()
    return found


def assert_one_clean_message(got: Received, recipient: str, *,
                             extra_headers: frozenset[str] = frozenset()) -> EmailMessage:
    """The envelope and the headers name exactly `recipient`; no header was added."""
    assert got.mail_from == SENDER
    assert list(got.rcpt_tos) == [recipient]

    msg = got.message
    assert set(msg.keys()) == HEADERS | extra_headers
    assert len(msg.keys()) == len(HEADERS | extra_headers)  # no header twice
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert not msg.defects
    to = msg["To"]
    assert not to.defects
    assert [a.addr_spec for a in to.addresses] == [recipient]
    assert [a.addr_spec for a in msg["From"].addresses] == [SENDER]
    # compat32 (the raw header, as most MTAs read it): one To, no Bcc/Cc, one address in To
    raw = email.message_from_bytes(got.data, policy=policy.compat32)
    assert isinstance(raw, Message)
    assert raw.get_all("To") is not None and len(raw.get_all("To")) == 1
    assert raw.get_all("Bcc") is None and raw.get_all("Cc") is None
    pairs = getaddresses([raw["To"]])  # parsed before decoding, as RFC 2047 says
    assert [a for _, a in pairs] == [recipient]
    assert "\n" not in decoded(pairs[0][0]) and "\r" not in decoded(pairs[0][0])
    for line in header_lines(got.data):
        assert not line.lower().startswith((b"bcc:", b"cc:", b"resent-")), line
        assert b"\r" not in line and b"\n" not in line
    # a line break anywhere other than CRLF (bare CR, bare LF, U+2028 in UTF-8, NEL) is absent
    block = raw_header_block(got.data)
    assert block.count(b"\n") == block.count(b"\r\n") == block.count(b"\r")
    assert b"\xe2\x80\xa8" not in block and b"\xc2\x85" not in block
    return msg


def assert_probe_delivered_cleanly(smtp: ScriptedServer, probe: str) -> EmailMessage:
    """One notice whose company name, recipient name and product name are `probe`."""
    recipient = "ceo@hanbit.co.kr"
    assert owe(notice(1, name=probe, email_to=recipient, product=probe)) == 1

    report = send()

    assert (report.sent, report.failed, report.retry_later) == (1, 0, 0)
    assert len(smtp.received) == 1
    msg = assert_one_clean_message(smtp.received[0], recipient)
    assert all(r.state == "sent" for r in outbox_rows())
    return msg


# --- company name probes --------------------------------------------------------------------

def test_company_name_with_crlf_bcc_adds_no_header_or_recipient(
        smtp: ScriptedServer, round_open: Round) -> None:
    msg = assert_probe_delivered_cleanly(smtp, CRLF_BCC)

    assert same_name(msg["To"].addresses[0].display_name, CRLF_BCC)
    body = parts(msg)
    assert "주식회사 한빛정밀" in body["plain"]  # the body still names the company


def test_company_name_with_encoded_word_bcc_adds_no_header_or_recipient(
        smtp: ScriptedServer, round_open: Round) -> None:
    msg = assert_probe_delivered_cleanly(smtp, ENCODED_WORD_BCC)

    raw_to = next(line for line in header_lines(smtp.received[0].data)
                  if line.startswith(b"To:"))
    assert b"=?UTF-8?Q?=0A?=" not in raw_to  # the attacker's word is not passed on as a word
    assert "\n" not in decoded(str(msg["To"]))


def test_company_name_with_display_name_list_adds_no_recipient(
        smtp: ScriptedServer, round_open: Round) -> None:
    msg = assert_probe_delivered_cleanly(smtp, DISPLAY_NAME_LIST)

    assert same_name(msg["To"].addresses[0].display_name, DISPLAY_NAME_LIST)


def test_long_korean_company_name_with_display_name_list_adds_no_recipient(
        smtp: ScriptedServer, round_open: Round) -> None:
    msg = assert_probe_delivered_cleanly(smtp, LONG_DISPLAY_NAME_LIST)

    assert same_name(msg["To"].addresses[0].display_name, LONG_DISPLAY_NAME_LIST)


def test_company_name_with_line_separator_bcc_adds_no_header_or_recipient(
        smtp: ScriptedServer, round_open: Round) -> None:
    assert_probe_delivered_cleanly(smtp, LINE_SEPARATOR_BCC)


def test_received_message_refolded_by_python_email_keeps_one_recipient(
        smtp: ScriptedServer, round_open: Round) -> None:
    """A Python receiver (list server, archive) that re-folds the message with policy.default —
    vulnerable to gh-121284 on 3.11.7 — must still see one `To:` address and no `Bcc:`."""
    probes = [CRLF_BCC, ENCODED_WORD_BCC, DISPLAY_NAME_LIST, LONG_DISPLAY_NAME_LIST,
              "주식회사 한빛정밀 고정밀 유량계측기 사업부, <evil@x.com>",
              "주식회사 한빛정밀 고정밀 유량계측기 사업부\r\nBcc: x@evil.com"]
    owe(*(notice(i, name=p, email_to=f"company{i:03d}@example.com", product=p)
          for i, p in enumerate(probes, 1)))
    send()
    assert len(smtp.received) == len(probes)

    leaked = {}
    for got in smtp.received:
        refolded = got.message.as_bytes(policy=policy.SMTP)
        again = email.message_from_bytes(refolded, policy=policy.default)
        addresses = [a.addr_spec for a in again["To"].addresses]
        if addresses != list(got.rcpt_tos) or again["Bcc"] is not None:
            leaked[got.rcpt_tos[0]] = addresses
    assert leaked == {}


# --- HTML and Jinja in applicant text -------------------------------------------------------

def test_script_in_product_and_company_name_is_escaped_in_html(
        smtp: ScriptedServer, round_open: Round) -> None:
    msg = assert_probe_delivered_cleanly(smtp, SCRIPT)

    html = parts(msg)["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert SCRIPT in parts(msg)["plain"]  # plain text is not markup: shown as written


@pytest.mark.parametrize("probe", [
    pytest.param("{{ 7*7 }}", id="expression"),
    pytest.param("{% raw %}", id="raw-block"),
    pytest.param(JINJA, id="both"),
])
def test_jinja_syntax_in_applicant_text_appears_literally(
        smtp: ScriptedServer, round_open: Round, probe: str) -> None:
    msg = assert_probe_delivered_cleanly(smtp, probe)

    body = parts(msg)
    for kind in ("plain", "html"):
        assert f"제품명: {probe}" in body[kind]
        assert "제품명: 49" not in body[kind]
        assert f"참여기업: {probe}" in body[kind]


# --- recipient address probes ---------------------------------------------------------------

@pytest.mark.parametrize("address", [
    pytest.param("x@evil.com\r\nBcc: y@evil.com", id="crlf-bcc"),
    pytest.param("a <evil@x.com>, b@y.com", id="display-name-list"),
    pytest.param("x@evil.com, y@evil.com", id="list"),
    pytest.param("=?UTF-8?Q?x=0A?=@evil.com", id="encoded-word"),
])
def test_recipient_address_probe_is_recorded_failed_and_nothing_is_sent(
        smtp: ScriptedServer, round_open: Round, address: str) -> None:
    good = notice(2, email_to="ceo@hanbit.co.kr")
    assert owe(notice(1, email_to=address), good) == 2

    [bad_row] = [r for r in outbox_rows() if r.recipient == address]
    assert bad_row.state == "failed"
    assert "invalid address" in bad_row.last_reply

    report = send()

    assert report.sent == 1
    assert [list(r.rcpt_tos) for r in smtp.received] == [["ceo@hanbit.co.kr"]]
    assert not any(EVIL.search(r.data) for r in smtp.received)
    states = {r.recipient: r.state for r in outbox_rows()}
    assert states == {address: "failed", "ceo@hanbit.co.kr": "sent"}


@pytest.mark.parametrize("address", [
    pytest.param("x@evil.com\r\n", id="trailing-crlf"),
    pytest.param("\nx@evil.com", id="leading-lf"),
    pytest.param(" x@evil.com ", id="spaces"),
])
def test_recipient_with_surrounding_whitespace_is_refused_or_stored_bare(
        smtp: ScriptedServer, round_open: Round, address: str) -> None:
    """What the outbox records as the recipient is what is validated and sent to."""
    owe(notice(1, email_to=address), notice(2, email_to="ceo@hanbit.co.kr"))

    report = send()

    rows = {r.subject_id: r for r in outbox_rows()}
    bad = rows[f"{ROUND}-001"]
    assert rows[f"{ROUND}-002"].state == "sent"
    if bad.state == "failed":
        assert report.sent == 1
        assert [list(r.rcpt_tos) for r in smtp.received] == [["ceo@hanbit.co.kr"]]
    else:
        assert bad.recipient == "x@evil.com"  # stored as validated, not as given
        assert bad.state == "sent"


def test_suppressed_address_with_surrounding_space_is_not_sent(
        smtp: ScriptedServer, round_open: Round) -> None:
    """An address refused permanently stays refused however it is spelled around it."""
    with session_scope(get_engine()) as session:
        session.add(MailSuppression(address="x@evil.com", reply="550 5.1.1 no such user",
                                    at=datetime(2030, 3, 1, tzinfo=UTC)))
    owe(notice(1, email_to="x@evil.com "), notice(2, email_to="ceo@hanbit.co.kr"))

    send()

    assert [list(r.rcpt_tos) for r in smtp.received] == [["ceo@hanbit.co.kr"]]
    assert {r.subject_id: r.state for r in outbox_rows()} == {
        f"{ROUND}-001": "failed", f"{ROUND}-002": "sent"}


@pytest.mark.parametrize("address", [
    pytest.param("x@evil.com\u2028", id="trailing-u2028"),
    pytest.param("x@evil.com\x85", id="trailing-nel"),
    pytest.param("x@evil.com\x0b", id="trailing-vt"),
])
def test_recipient_with_trailing_unicode_line_break_is_refused_and_run_completes(
        smtp: ScriptedServer, round_open: Round, address: str) -> None:
    """An address the SMTP client refuses to put on the RCPT line must be refused at enqueue
    (or fail alone at delivery), never crash or hang the run that sends everyone else's mail."""
    owe(notice(1, email_to=address), notice(2, email_to="ceo@hanbit.co.kr"))

    report = send(within=30)

    assert report.sent == 1
    assert [list(r.rcpt_tos) for r in smtp.received] == [["ceo@hanbit.co.kr"]]
    assert {r.subject_id: r.state for r in outbox_rows()} == {
        f"{ROUND}-001": "failed", f"{ROUND}-002": "sent"}


# --- the company registry and the call broadcast --------------------------------------------

def brn(n: int) -> str:
    first = f"{123450000 + n:09d}"
    digits = f"{first}{check_digit(first)}"
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def test_registry_reports_bad_email_and_broadcast_adds_no_recipient(
        smtp: ScriptedServer, round_open: Round, tmp_path: Path) -> None:
    good = {
        brn(1): ("주식회사 한빛정밀\r\nBcc: x@evil.com", "ceo@hanbit.co.kr"),
        brn(2): ("=?UTF-8?Q?=0A?=Bcc: x@evil.com", "info@daesung.co.kr"),
        brn(3): ("a <evil@x.com>, b", "sales@sangsaeng.kr"),
        brn(4): (f"{SCRIPT} {{{{ 7*7 }}}}", "admin@example.com"),
    }
    bad_email = "x@evil.com\r\nBcc: y@evil.com"
    bad_list = "a <evil@x.com>, b@y.com"
    lines = ["brn,name,email,opted_in"]
    lines += [f'{b},"{name}",{addr},Y' for b, (name, addr) in good.items()]
    lines.append(f'{brn(5)},주식회사 나쁜주소,"{bad_email}",Y')
    lines.append(f'{brn(6)},대성테크,"{bad_list}",Y')
    path = tmp_path / "companies.csv"
    path.write_bytes("\r\n".join(lines).encode("utf-8") + b"\r\n")

    with session_scope(get_engine()) as session:
        summary = import_registry(session, path, now=datetime(2030, 3, 1, tzinfo=UTC),
                                  actor="test")
    assert summary.added == len(good)
    assert [(e.row, e.column, e.value) for e in summary.errors] == [
        (len(good) + 2, "email", bad_email), (len(good) + 3, "email", bad_list)]

    with session_scope(get_engine()) as session:
        rnd = session.get(Round, ROUND)
        assert rnd is not None
        assert broadcast_call(session, rnd) == len(good)
    report = send()

    assert report.sent == len(good)
    addresses = {addr for _, addr in good.values()}
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(addresses)
    tokens = set()
    for got in smtp.received:
        msg = assert_one_clean_message(got, got.rcpt_tos[0],
                                       extra_headers=frozenset({"List-Unsubscribe"}))
        links = re.findall(r"<([^<>]+)>", str(msg["List-Unsubscribe"]))
        assert len(links) == 1 and links[0].startswith(f"mailto:{SENDER}?subject=unsubscribe")
        tokens.add(links[0])
        body = parts(msg)  # one body shared by every company: no name in it
        assert "evil" not in body["plain"] and "evil" not in body["html"]
        assert "<script" not in body["html"]
    assert len(tokens) == len(good)  # one token per company
