"""Header injection on the real send path (issue 13 §6.1): attacker text in the round package's
company, representative, reviewer and product names and e-mail addresses, imported by the
`round` flow, owed by the services, sent by the sender to a real SMTP server on loopback — and
read back from the bytes that server received.

tests/mail/test_injection.py probes the outbox alone (notices queued by hand); these probes go
through the package import and every kind of notice a round sends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sangsaeng.errors import ImportRejected
from tests.integration.helpers import run
from tests.mail.smtp_server import ScriptedServer
from tests.security.hostile import (
    CONFIG,
    DISPLAY_LIST,
    ENCODED_WORD_B,
    ENCODED_WORD_BCC,
    ENCODED_WORD_Q,
    KOREAN_DISPLAY_LIST,
    NOW,
    hostile_package,
)
from tests.security.wire import outbox_by_message_id, problems, text_parts, to_name

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.prefect]

# Selected applications with confirmed production: receipt, selection and certificate notices.
HEADER_NAMES = {
    ("2022-2-002", "lead"): {"name": ENCODED_WORD_Q, "representative": ENCODED_WORD_Q},
    ("2022-2-002", "partner"): {"name": DISPLAY_LIST, "representative": DISPLAY_LIST},
    ("2022-2-005", "lead"): {"name": KOREAN_DISPLAY_LIST},
    ("2022-2-007", "lead"): {"name": ENCODED_WORD_B},
    ("2022-2-009", "lead"): {"name": ENCODED_WORD_BCC},
}
HEADER_PRODUCTS = {"2022-2-002": ENCODED_WORD_Q, "2022-2-009": DISPLAY_LIST}
HEADER_REVIEWERS = {"R01": {"name": ENCODED_WORD_Q}, "R02": {"name": DISPLAY_LIST}}


def test_encoded_word_and_address_list_names_are_sent_with_no_extra_header_or_recipient(
        smtp: ScriptedServer, tmp_path: Path) -> None:
    """Probes CVE-2024-6923 (an encoded word hiding a line break: `=?utf-8?q?a=0AX-Injected:_1?=`,
    in Q and B encodings, and a `Bcc:` one) and the display-name list (`"a <evil@x>, b"`) in
    company, representative, reviewer and product names: imported as text, every notice of
    the round is received with exactly one RCPT, one `To:` address and no header added — also
    after a Python receiver re-folds it."""
    package = hostile_package(tmp_path, participants=HEADER_NAMES, products=HEADER_PRODUCTS,
                              reviewers=HEADER_REVIEWERS)

    report = run(CONFIG, package, NOW, approve=True)

    assert report.state == "support"  # the whole round ran: receipts to certificates
    rows = outbox_by_message_id()
    assert {r.state for r in rows.values()} == {"sent"}
    assert len(smtp.received) == len(rows)
    bad = {}
    for got in smtp.received:
        row = rows[got.message_id]
        if found := problems(got, row.recipient):
            bad[(row.kind, row.recipient)] = found
    assert bad == {}
    # the probes did reach the headers and bodies, as text
    kinds = {rows[g.message_id].kind for g in smtp.received if "X-Injected" in to_name(g)}
    assert {"application.received", "selection.selected", "certificate.issued",
            "review.assignment"} <= kinds
    spy = [g for g in smtp.received if "spy" in to_name(g)]
    assert {rows[g.message_id].recipient_name for g in spy} >= {
        DISPLAY_LIST, KOREAN_DISPLAY_LIST, ENCODED_WORD_BCC}
    receipt = next(g for g in smtp.received if rows[g.message_id].kind == "application.received"
                   and rows[g.message_id].subject_id == "2022-2-002"
                   and rows[g.message_id].recipient_name == ENCODED_WORD_Q)
    assert ENCODED_WORD_Q in text_parts(receipt)["plain"]  # the body shows it as written


def all_errors(sample: list[str]) -> list[str]:
    """Every rejected row: the sample in the exception, all of them in the file it names."""
    last = sample[-1]
    if "every one listed in " not in last:
        return sample
    return Path(last.rpartition("every one listed in ")[2]).read_text(
        encoding="utf-8").splitlines()


# Cells that cannot be one header-safe line or one plain address: refused at import.
REFUSED = {
    ("2022-2-001", "lead"): {"name": "주식회사 한빛\r\nBcc: spy@evil.example"},
    ("2022-2-001", "partner"): {"email": "x@company.example\r\nBcc: spy@evil.example"},
    ("2022-2-004", "lead"): {"representative": "정지훈\nX-Injected: 1"},
    ("2022-2-011", "lead"): {"email": "a <spy@evil.example>, b@company.example"},
    ("2022-2-011", "partner"): {"email": "=?utf-8?q?a=0AX-Injected:_1?=@company.example"},
    ("2022-2-014", "lead"): {"email": "ceo@company.example, spy@evil.example"},
    ("2022-2-014", "partner"): {"name": "대성정밀\u2028Bcc: spy@evil.example"},
}
REFUSED_PRODUCTS = {"2022-2-008": "유량계\r\nX-Injected: 1"}
REFUSED_REVIEWERS = {"R03": {"email": "r03@review.example\nBcc: spy@evil.example"}}


def test_line_breaks_and_crafted_addresses_are_refused_at_import_and_never_sent(
        smtp: ScriptedServer, tmp_path: Path) -> None:
    """Probes raw CR/LF and U+2028 in names and addresses, and crafted recipient strings
    (`a <evil@x>, b@y`, a list, an encoded word, a CRLF `Bcc:`) in the package: each is
    refused at import with its file, row, column and a reason, nothing is sent to or about it,
    and the good rows' notices still go out, one clean recipient each."""
    package = hostile_package(tmp_path, participants=REFUSED, products=REFUSED_PRODUCTS,
                              reviewers=REFUSED_REVIEWERS)

    with pytest.raises(ImportRejected) as refused:
        run(CONFIG, package, NOW, approve=True)

    lines = all_errors(refused.value.errors)
    expected = {
        ("participants.csv", "name", "줄바꿈 문자(U+000D)"),
        ("participants.csv", "name", "줄바꿈 문자(U+2028)"),
        ("participants.csv", "representative", "줄바꿈 문자"),
        ("applications.csv", "product_name", "줄바꿈 문자"),
        ("participants.csv", "email", "이메일 주소 하나가 아닙니다 (표시 이름 없이 주소 하나만)"),
        ("reviewers.csv", "email", "이메일 주소 하나가 아닙니다 (표시 이름 없이 주소 하나만)"),
    }
    for file, column, reason in expected:
        assert any(line.startswith(file) and f", {column} 열," in line and reason in line
                   for line in lines), (file, column, lines)
    bad_emails = [v["email"] for v in [*REFUSED.values(), *REFUSED_REVIEWERS.values()]
                  if "email" in v]
    for address in bad_emails:  # each named with its own row
        assert sum(repr(address) in line for line in lines) == 1, address
    # the good rows' receipts were delivered at the end of the failed run; nothing else
    rows = outbox_by_message_id()
    assert rows and {r.state for r in rows.values()} == {"sent"}
    assert not any("evil" in r.recipient or "\n" in r.recipient_name for r in rows.values())
    assert len(smtp.received) == len(rows)
    for got in smtp.received:
        assert problems(got, rows[got.message_id].recipient) == []
        assert b"evil" not in got.data.lower() and b"injected" not in got.data.lower()
