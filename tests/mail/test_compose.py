"""The shared part of a message is built without `EmailMessage`, byte for byte as it would be
(compose.shared_part); the reference build here is the one the composer used before, with
`add_attachment` for the files of a body that has any."""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import replace
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from sangsaeng.mail.attachments import Attachment
from sangsaeng.mail.compose import boundary, folded, mixed_boundary, shared_part
from sangsaeng.mail.headers import clean_text, mailbox
from sangsaeng.mail.render import Rendered

OFFICE = mailbox("공공구매지원센터 상생협력팀", "sangsaeng@smpp.example")


def reference(rendered: Rendered, sender: Address, files: tuple[bytes, ...] = ()) -> bytes:
    """What `EmailMessage` writes for the same content (the boundaries set, as shared_part)."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["Subject"] = clean_text(rendered.subject, limit=300)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, charset="utf-8", cte="base64")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    msg.set_boundary(boundary(rendered, sender))  # the alternative's, inside a mixed one
    for a, data in zip(rendered.attachments, files, strict=True):
        maintype, subtype = a.content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=a.filename)
    if rendered.attachments:
        msg.set_boundary(mixed_boundary(rendered, sender))
    return msg.as_bytes(policy=policy.SMTP)


def attached(data: bytes, name: str = "22-IG0001-v1.pdf",
             content_type: str = "application/pdf") -> Attachment:
    return Attachment(name, f"certificates/2022-2/{name}", hashlib.sha256(data).hexdigest(),
                      content_type)


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
RECEIPT = Rendered("[공공조달 상생협력] 22-IG0001 확인서 발급 안내", "주식회사 상생001 귀하\n" * 20,
                   "<p>주식회사 상생001 귀하</p>\n" * 30)


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


@pytest.mark.parametrize(("files", "attachments"), [
    pytest.param((PDF,), (attached(PDF),), id="certificate-pdf"),
    pytest.param((PDF, b"x" * 57), (attached(PDF), attached(b"x" * 57, "b" * 57 + ".pdf")),
                 id="two-files-57-bytes-long-name"),
    pytest.param((b"",), (attached(b"", "empty.pdf"),), id="empty-file"),
    pytest.param((b"a,b\r\n" * 30,),
                 (attached(b"a,b\r\n" * 30, "list.xlsx", "application/vnd.openxmlformats-"
                                                       "officedocument.spreadsheetml.sheet"),),
                 id="long-content-type"),
])
@pytest.mark.parametrize("sender", [
    pytest.param(OFFICE, id="korean-name"),
    pytest.param(mailbox("Sangsaeng Office", "office@example.org"), id="ascii-name"),
])
def test_a_body_with_attachments_is_byte_for_byte_what_email_message_writes(
        files: tuple[bytes, ...], attachments: tuple[Attachment, ...], sender: Address) -> None:
    rendered = replace(RECEIPT, attachments=attachments)
    built = shared_part(rendered, sender, folded("From", sender), files)
    assert built == reference(rendered, sender, files)
    msg = email.message_from_bytes(built, policy=policy.default)
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html",
        *(a.content_type for a in attachments)]
    got = [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()]
    assert got == [(a.filename, data) for a, data in zip(attachments, files, strict=True)]
    lines = built.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998  # RFC 5322
    assert max(len(line) for line in lines if re.fullmatch(rb"[A-Za-z0-9+/=]+", line)) == 76


def test_other_files_make_another_boundary_and_no_file_keeps_the_old_bytes() -> None:
    one, other = attached(PDF), attached(PDF + b"\n")
    with_one = replace(RECEIPT, attachments=(one,))
    assert mixed_boundary(with_one, OFFICE) != mixed_boundary(
        replace(RECEIPT, attachments=(other,)), OFFICE)
    assert mixed_boundary(with_one, OFFICE) != boundary(with_one, OFFICE)
    assert boundary(with_one, OFFICE) == boundary(RECEIPT, OFFICE)  # the inner one: the text's
    assert shared_part(RECEIPT, OFFICE) == reference(RECEIPT, OFFICE)
    with pytest.raises(ValueError, match="one file's bytes per attachment"):
        shared_part(with_one, OFFICE)
