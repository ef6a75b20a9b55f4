"""Header safety (sangsaeng.mail.headers): sanitised names, strict addresses, one mailbox per
`To:` whatever the name holds, stable Message-IDs. Unit tests, no database."""

from __future__ import annotations

import email
import re
import unicodedata
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import getaddresses

import pytest

from sangsaeng.mail.headers import (
    MAX_NAME,
    InvalidAddress,
    clean_text,
    is_valid_address,
    mailbox,
    mailbox_header,
    message_id,
    valid_address,
)

ADDR = "ceo@hanbit.co.kr"
COMPAT_SMTP = policy.compat32.clone(linesep="\r\n")

# --- clean_text -----------------------------------------------------------------------------

CONTROLS = [
    pytest.param("\r", id="CR"),
    pytest.param("\n", id="LF"),
    pytest.param("\r\n", id="CRLF"),
    pytest.param("\x00", id="NUL"),
    pytest.param("\x08", id="BS"),
    pytest.param("\t", id="TAB"),
    pytest.param("\x0b", id="VT"),
    pytest.param("\x0c", id="FF"),
    pytest.param("\x1b", id="ESC"),
    pytest.param("\x1c", id="FS"),
    pytest.param("\x1d", id="GS"),
    pytest.param("\x1e", id="RS"),
    pytest.param("\x1f", id="US"),
    pytest.param("\x7f", id="DEL"),
    pytest.param("\x80", id="C1-PAD"),
    pytest.param("\x85", id="NEL-U+0085"),
    pytest.param("\x9b", id="C1-CSI"),
    pytest.param("\x9f", id="C1-APC"),
    pytest.param("\u2028", id="LINE-SEPARATOR-U+2028"),
    pytest.param("\u2029", id="PARAGRAPH-SEPARATOR-U+2029"),
]
ALL_CONTROLS = "".join(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]) + "\u2028\u2029"


@pytest.mark.parametrize("control", CONTROLS)
def test_clean_text_removes_control_and_line_break(control: str) -> None:
    cleaned = clean_text(f"주식회사{control}Bcc: x@evil.com")

    assert control not in cleaned
    assert cleaned.splitlines() == [cleaned]  # nothing Python (or a reader) splits lines on
    assert cleaned in ("주식회사 Bcc: x@evil.com", "주식회사Bcc: x@evil.com")


def test_clean_text_removes_every_c0_and_c1_control() -> None:
    cleaned = clean_text(f"a{ALL_CONTROLS}b")

    assert cleaned == "a b"
    assert not any(unicodedata.category(c) == "Cc" for c in cleaned)


@pytest.mark.parametrize("text", [
    pytest.param("=?UTF-8?Q?=0A?=Bcc: x@evil.com", id="q-word-newline"),
    pytest.param("=?utf-8?b?CkJjYzogeEBldmlsLmNvbQ==?=", id="b-word-newline"),
    pytest.param("한빛=?UTF-8?Q?x?=정밀", id="embedded-word"),
    pytest.param("=?=?", id="repeated-marker"),
])
def test_clean_text_neutralises_encoded_word_marker(text: str) -> None:
    cleaned = clean_text(text)

    assert "=?" not in cleaned
    assert decode_header(cleaned) == [(cleaned, None)]  # read as plain text


@pytest.mark.parametrize("text", [
    pytest.param("주식회사 한빛정밀", id="korean"),
    pytest.param("(주)한빛정밀 & 대성테크, Inc.", id="punctuation"),
    pytest.param("「고정밀 유량계측기」 — 2030-1 #7 (100%)", id="korean-punctuation"),
    pytest.param("O'Brien \"Quotes\" <tag>; a@b", id="ascii-specials"),
])
def test_clean_text_keeps_korean_and_ordinary_punctuation(text: str) -> None:
    assert clean_text(text) == text


def test_clean_text_composes_decomposed_hangul() -> None:
    decomposed = unicodedata.normalize("NFD", "한빛정밀")

    assert clean_text(decomposed) == "한빛정밀"


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("  주식회사   한빛  ", "주식회사 한빛", id="spaces"),
    pytest.param("주식회사\t\t한빛", "주식회사 한빛", id="tabs"),
    pytest.param("주식회사\u3000한빛", "주식회사 한빛", id="ideographic-space"),
    pytest.param("주식회사\r\n \r\n한빛", "주식회사 한빛", id="folded-lines"),
])
def test_clean_text_collapses_whitespace(text: str, expected: str) -> None:
    assert clean_text(text) == expected


def test_clean_text_caps_length() -> None:
    assert len(clean_text("가" * 1000)) == MAX_NAME
    assert clean_text("가" * 1000, limit=10) == "가" * 10
    assert clean_text("가" * 10, limit=300) == "가" * 10


# --- valid_address --------------------------------------------------------------------------

LONG_DOMAIN = "@" + "b" * 60 + "." + "c" * 60 + ".kr"


@pytest.mark.parametrize("address", ["ceo@hanbit.co.kr", "a.b+tag@sub.example.com"])
def test_valid_address_accepts_plain_address(address: str) -> None:
    assert valid_address(address) == address
    assert is_valid_address(address)


@pytest.mark.parametrize("address", [
    pytest.param("x <evil@x.com>", id="display-name"),
    pytest.param("<evil@x.com>", id="angle-brackets"),
    pytest.param("a@b.com, c@d.com", id="list-comma"),
    pytest.param("a@b.com;c@d.com", id="list-semicolon"),
    pytest.param("group: a@b.com;", id="group"),
    pytest.param("a@b.com (comment)", id="comment"),
    pytest.param("@route:a@b.com", id="source-route"),
    pytest.param("a@b.com\r\nBcc: c@d.com", id="crlf-bcc"),
    pytest.param("a\r@b.com", id="cr-inside"),
    pytest.param("a\n@b.com", id="lf-inside"),
    pytest.param("a@b.com\nx", id="lf-then-text"),
    pytest.param("a@b.com\x00", id="nul"),
    pytest.param('"a b"@x.com', id="quoted-local-space"),
    pytest.param('"a"@x.com', id="quoted-local"),
    pytest.param("a b@x.com", id="space"),
    pytest.param("a@x .com", id="space-in-domain"),
    pytest.param("a@localhost", id="no-tld"),
    pytest.param("a@x.c0m", id="numeric-tld"),
    pytest.param("a@b.com.", id="trailing-dot"),
    pytest.param("a..b@x.com", id="double-dot-local"),
    pytest.param("a@x..com", id="double-dot-domain"),
    pytest.param(".a@x.com", id="leading-dot-local"),
    pytest.param("a.@x.com", id="trailing-dot-local"),
    pytest.param("a@-x.com", id="hyphen-label"),
    pytest.param("a@[127.0.0.1]", id="address-literal"),
    pytest.param("한빛@x.com", id="non-ascii-local"),
    pytest.param("a@한빛.kr", id="non-ascii-domain"),
    pytest.param("ａ@x.com", id="fullwidth-letter"),
    pytest.param("=?UTF-8?Q?a?=@x.com", id="encoded-word"),
    pytest.param("a@x.com=?utf-8?q?x?=", id="encoded-word-after"),
    pytest.param("a" * (255 - len(LONG_DOMAIN)) + LONG_DOMAIN, id="over-254"),
    pytest.param("a" * 64 + "@" + ("b" * 60 + ".") * 4 + "kr", id="far-over-254"),
    pytest.param("", id="empty"),
    pytest.param("a@", id="no-domain"),
    pytest.param("@x.com", id="no-local"),
])
def test_valid_address_rejects(address: str) -> None:
    assert not is_valid_address(address)
    with pytest.raises(InvalidAddress):
        valid_address(address)


def test_valid_address_length_limit_is_254() -> None:
    longest = "a" * (254 - len(LONG_DOMAIN)) + LONG_DOMAIN

    assert valid_address(longest) == longest
    assert not is_valid_address("a" + longest)


# --- mailbox / mailbox_header ---------------------------------------------------------------

NAME_PROBES = [
    pytest.param("Evil\r\nBcc: x@evil.com", id="crlf-bcc"),
    pytest.param("Evil\nBcc: x@evil.com", id="lf-bcc"),
    pytest.param("=?UTF-8?Q?=0A?=Bcc: x@evil.com", id="encoded-word-newline"),
    pytest.param("a <evil@x.com>, b", id="display-name-list"),
    pytest.param("\u2028Bcc: x@evil.com", id="u2028-bcc"),
    pytest.param("\x85Bcc: x@evil.com", id="nel-bcc"),
    pytest.param('주식회사 "한빛" 정밀', id="korean-quotes"),
    pytest.param('(주)한빛 "정밀", <evil@x.com>', id="korean-quotes-specials"),
    pytest.param("한빛\r\nBcc: x@evil.com", id="korean-crlf-bcc"),
    pytest.param("한빛 =?UTF-8?Q?=0A?=Bcc: x@evil.com", id="korean-encoded-word"),
    pytest.param("evil@x.com", id="address-as-name"),
    pytest.param('\\"; evil@x.com', id="backslash-quote"),
    pytest.param("", id="empty-name"),
    # long enough that a re-folding receiver must split the encoded word
    pytest.param("주식회사 한빛정밀 고정밀 유량계측기 사업부, <evil@x.com>",
                 id="long-korean-angle-address"),
    pytest.param("a <evil@x.com>, b 주식회사 한빛정밀 고정밀 유량계측기",
                 id="long-korean-display-name-list"),
    pytest.param("주식회사 한빛정밀 고정밀 유량계측기 사업부\r\nBcc: x@evil.com",
                 id="long-korean-crlf-bcc"),
    pytest.param("(주)한빛정밀 고정밀 유량계측기 사업부 품질관리팀 담당자", id="long-korean"),
]


def _registry_addresses(header: str) -> list[tuple[str, str]]:
    """The `To:` value as email.headerregistry (policy.default) reads it."""
    msg = email.message_from_string(f"To: {header}\r\n\r\n", policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return [(a.display_name, a.addr_spec) for a in msg["To"].addresses]


@pytest.mark.parametrize("name", NAME_PROBES)
def test_mailbox_header_parses_back_to_exactly_one_address(name: str) -> None:
    header = mailbox_header(mailbox(name, ADDR))

    assert "\r" not in header and "\n" not in header
    assert header.splitlines() == [header]
    assert [addr for _, addr in getaddresses([header])] == [ADDR]
    assert [addr for _, addr in _registry_addresses(header)] == [ADDR]


@pytest.mark.parametrize("name", NAME_PROBES)
def test_mailbox_header_in_a_message_adds_no_header(name: str) -> None:
    head = Message(policy=COMPAT_SMTP)
    head["To"] = mailbox_header(mailbox(name, ADDR))
    head["Subject"] = "x"
    raw = head.as_bytes(policy=COMPAT_SMTP) + b"body\r\n"

    for pol in (policy.compat32, policy.default):
        parsed = email.message_from_bytes(raw, policy=pol)
        assert parsed.keys() == ["To", "Subject"]
        assert [a for _, a in getaddresses(parsed.get_all("To", []))] == [ADDR]


@pytest.mark.parametrize("name", NAME_PROBES)
def test_mailbox_header_stays_one_address_when_refolded(name: str) -> None:
    """A receiver on a Python without the gh-121284 fix (3.11.7 here) that re-folds `To:` with
    policy.default must still see one mailbox: no specials may leak out of an encoded word."""
    head = Message(policy=COMPAT_SMTP)
    head["To"] = mailbox_header(mailbox(name, ADDR))
    raw = head.as_bytes(policy=COMPAT_SMTP) + b"body\r\n"

    refolded = email.message_from_bytes(raw, policy=policy.default).as_bytes(
        policy=policy.SMTP)
    parsed = email.message_from_bytes(refolded, policy=policy.default)

    assert parsed.keys() == ["To"]
    assert [a.addr_spec for a in parsed["To"].addresses] == [ADDR]


def test_mailbox_keeps_a_korean_name_and_the_address() -> None:
    box = mailbox("  주식회사\r\n한빛정밀 ", ADDR)

    assert box.display_name == "주식회사 한빛정밀"
    assert box.addr_spec == ADDR
    assert _registry_addresses(mailbox_header(box)) == [("주식회사 한빛정밀", ADDR)]


@pytest.mark.parametrize("address", ["x <evil@x.com>", "a@b.com, c@d.com",
                                     "a@b.com\r\nBcc: c@d.com"])
def test_mailbox_refuses_an_invalid_address(address: str) -> None:
    with pytest.raises(InvalidAddress):
        mailbox("주식회사 한빛정밀", address)


# --- message_id -----------------------------------------------------------------------------

MESSAGE_ID = re.compile(r"<[0-9a-f]+@smpp\.example>")


def test_message_id_is_stable_for_the_same_key() -> None:
    key = "2030-1|application.received|application|2030-1-001|ceo@hanbit.co.kr|0"

    assert message_id(key, "smpp.example") == message_id(key, "smpp.example")


def test_message_id_differs_for_different_keys() -> None:
    base = "2030-1|application.received|application|2030-1-001|ceo@hanbit.co.kr|"
    ids = {message_id(base + str(resend), "smpp.example") for resend in range(50)}

    assert len(ids) == 50


def test_message_id_has_hex_left_side_and_the_domain() -> None:
    mid = message_id("주식회사 한빛정밀\r\nBcc: x@evil.com", "smpp.example")

    assert MESSAGE_ID.fullmatch(mid)
    parsed = email.message_from_string(f"Message-ID: {mid}\n\n", policy=policy.default)
    assert str(parsed["Message-ID"]) == mid
