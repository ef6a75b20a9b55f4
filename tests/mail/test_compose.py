"""The shared part of a message is built without `EmailMessage`, byte for byte as it would be
(compose.shared_part); the reference build here is the one the composer used before."""

from __future__ import annotations

from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from sangsaeng.mail.compose import boundary, folded, shared_part
from sangsaeng.mail.headers import clean_text, mailbox
from sangsaeng.mail.render import Rendered

OFFICE = mailbox("공공구매지원센터 상생협력팀", "sangsaeng@smpp.example")


def reference(rendered: Rendered, sender: Address) -> bytes:
    """What `EmailMessage` writes for the same content (the boundary set, as shared_part)."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["Subject"] = clean_text(rendered.subject, limit=300)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, charset="utf-8", cte="base64")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    msg.set_boundary(boundary(rendered, sender))
    return msg.as_bytes(policy=policy.SMTP)


@pytest.mark.parametrize("rendered", [
    pytest.param(Rendered("[공공조달 상생협력] 2030-1 참여 신청 접수 완료 안내 "
                          "(접수번호 2030-1-001)", "주식회사 상생001 귀하\n\n안녕하십니까.\n" * 20,
                          "<p>주식회사 상생001 귀하</p>\n" * 30), id="korean"),
    pytest.param(Rendered("Receipt", "plain ascii\n", "<p>x</p>"), id="ascii-no-final-newline"),
    pytest.param(Rendered("", "", ""), id="empty"),
    pytest.param(Rendered("제목 " * 60, "a\r\nb\rc\n\nd", "한\r\n" * 200), id="long-mixed-ends"),
    pytest.param(Rendered("x" * 57, "y" * 57 + "\n" + "z" * 56, "w" * 114), id="57-byte-edges"),
])
@pytest.mark.parametrize("sender", [
    pytest.param(OFFICE, id="korean-name"),
    pytest.param(mailbox("Sangsaeng Office", "office@example.org"), id="ascii-name"),
])
def test_the_shared_part_is_byte_for_byte_what_email_message_writes(
        rendered: Rendered, sender: Address) -> None:
    assert shared_part(rendered, sender) == reference(rendered, sender)
    assert shared_part(rendered, sender, folded("From", sender)) == reference(rendered, sender)


def test_the_same_content_composes_to_the_same_bytes_and_other_content_does_not() -> None:
    one = Rendered("제목", "본문", "<p>본문</p>")
    assert shared_part(one, OFFICE) == shared_part(Rendered("제목", "본문", "<p>본문</p>"), OFFICE)
    assert boundary(one, OFFICE) != boundary(Rendered("제목", "본문.", "<p>본문</p>"), OFFICE)
