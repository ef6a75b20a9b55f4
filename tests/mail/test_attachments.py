"""Notices with files (the certificate PDF on `certificate.issued`): the file is part of the
body, reaches a real SMTP server and the mail folder whole, and a file that is missing,
unreadable, changed or outside the var dir fails its row alone — nothing partial is sent."""

from __future__ import annotations

import email
import hashlib
import json
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update

from sangsaeng.db import get_engine, session_scope
from sangsaeng.mail.attachments import AttachmentError
from sangsaeng.mail.outbox import (
    Attachment,
    Notice,
    Outgoing,
    body_digest,
    enqueue,
    load_bodies,
)
from sangsaeng.mail.render import Rendered
from sangsaeng.models import MAIL_BODIES, OUTBOX
from sangsaeng.services import notices
from tests.mail.helpers import ROUND, certificate, open_round, pdf, received_notice, rows, send
from tests.mail.smtp_server import ScriptedServer


def owe(*owed: Notice) -> None:
    open_round()
    with session_scope(get_engine()) as session:
        enqueue(session, ROUND, owed)


def files_of(msg: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    return [(p.get_filename(), p.get_content_type(), p.get_content())
            for p in msg.iter_attachments()]


def test_a_real_smtp_server_receives_the_certificate_with_its_pdf(
        smtp: ScriptedServer, env: Path) -> None:
    owe(certificate(1, env), certificate(2, env), received_notice(3))
    report = send()
    assert (report.sent, report.failed, report.retry_later) == (3, 0, 0)
    got = {r.rcpt_tos[0]: r.message for r in smtp.received}
    for i in (1, 2):
        msg = got[f"company{i:03d}@example.com"]
        assert msg.get_content_type() == "multipart/mixed"
        assert files_of(msg) == [(f"22-IG{i:04d}-v1.pdf", "application/pdf", pdf(i))]
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None and "첨부" in body.get_content()
    receipt = got["company003@example.com"]  # a notice without files is as it always was
    assert receipt.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in receipt.iter_parts()] == ["text/plain", "text/html"]
    assert {r.state for r in rows().values()} == {"sent"}


def test_the_mail_folder_stores_the_certificate_with_its_pdf(env: Path) -> None:
    owe(certificate(1, env))
    assert send().sent == 1
    (eml,) = (env / "mail").glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert files_of(msg) == [("22-IG0001-v1.pdf", "application/pdf", pdf(1))]


def _break(var: Path, i: int, how: str) -> str:
    path = var / "certificates" / ROUND / f"22-IG{i:04d}-v1.pdf"
    if how == "missing":
        path.unlink()
        return f"attachment 22-IG{i:04d}-v1.pdf is missing: nothing was sent"
    if how == "changed":
        path.write_bytes(pdf(i).replace(b"1.7", b"1.6"))
        return (f"attachment 22-IG{i:04d}-v1.pdf has changed since the notice was owed "
                "(sha256 differs): nothing was sent")
    path.unlink()
    path.mkdir()  # unreadable as a file, whoever runs the tests (root reads a chmod 000 file)
    return f"attachment 22-IG{i:04d}-v1.pdf cannot be read (Is a directory): nothing was sent"


@pytest.mark.parametrize("how", ["missing", "changed", "unreadable"])
def test_a_file_that_cannot_go_as_owed_fails_its_row_and_the_others_are_sent(
        smtp: ScriptedServer, env: Path, how: str) -> None:
    owe(*(certificate(i, env) for i in (1, 2, 3)), received_notice(4))
    why = _break(env, 2, how)
    report = send()
    assert (report.sent, report.failed, report.retry_later) == (3, 1, 0)
    assert report.failures == [("certificate.issued", why)]
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "company001@example.com", "company003@example.com", "company004@example.com"]
    row = rows()["company002@example.com"]
    assert (row.state, row.last_reply, row.sent_at) == ("failed", why, None)
    assert send().attempted == 0 and len(smtp.received) == 3  # failed stays failed


@pytest.mark.parametrize("path", ["../outside.pdf", "certificates/../../outside.pdf",
                                  "{outside}"], ids=["dotdot", "nested-dotdot", "absolute"])
def test_a_recorded_path_outside_the_var_dir_is_refused(
        smtp: ScriptedServer, env: Path, path: str) -> None:
    """A body row altered in the database: the file exists, with the recorded digest."""
    outside = env.parent / "outside.pdf"
    outside.write_bytes(pdf(1))
    owe(certificate(1, env), certificate(2, env))
    b = MAIL_BODIES.c
    with session_scope(get_engine()) as session:
        (body_id, files), *_ = session.execute(select(b.id, b.attachments).order_by(b.id)).all()
        files = [{**files[0], "path": path.format(outside=outside),
                  "sha256": hashlib.sha256(pdf(1)).hexdigest()}]
        session.execute(update(MAIL_BODIES).where(b.id == body_id).values(attachments=files))
    assert (send().sent, len(smtp.received)) == (1, 1)
    row = rows()["company001@example.com"]
    assert (row.state, row.last_reply) == (
        "failed", "attachment 22-IG0001-v1.pdf has a path outside the var dir: nothing was sent")


def test_equal_text_with_other_files_is_another_body_and_the_files_are_stored(
        env: Path) -> None:
    one, other = certificate(1, env, same_text=True), certificate(2, env, same_text=True)
    again = Notice(one.kind, one.subject_type, "22-IG0001-reissue", "company009@example.com",
                   one.recipient_name, one.payload, attachments=one.attachments)
    owe(one, other, again)
    o = OUTBOX.c
    with session_scope(get_engine()) as session:
        body_of = dict(session.execute(select(o.recipient, o.body_id)).all())
        bodies = load_bodies(session, body_of.values())
        stored = session.execute(select(MAIL_BODIES.c.attachments)).scalars().all()
    assert len(bodies) == 2
    assert body_of["company001@example.com"] == body_of["company009@example.com"]
    first, second = bodies[body_of["company001@example.com"]], bodies[
        body_of["company002@example.com"]]
    assert (first.subject, first.text, first.html) == (second.subject, second.text, second.html)
    assert (first.attachments, second.attachments) == (one.attachments, other.attachments)
    assert sorted(f[0]["filename"] for f in stored) == ["22-IG0001-v1.pdf", "22-IG0002-v1.pdf"]
    assert set(stored[0][0]) == {"filename", "path", "sha256", "content_type"}


def test_a_body_without_files_keeps_the_digest_it_always_had() -> None:
    r = Rendered("제목", "본문", "<p>본문</p>")
    legacy = json.dumps(["application.received", "ko", r.subject, r.text, r.html],
                        ensure_ascii=False)
    assert body_digest("application.received", "ko", r) == hashlib.sha256(
        legacy.encode("utf-8")).hexdigest()
    files = (Attachment("a.pdf", "certificates/a.pdf", "0" * 64),)
    assert body_digest("application.received", "ko", Rendered(
        r.subject, r.text, r.html, files)) != body_digest("application.received", "ko", r)


@pytest.mark.parametrize(("field", "value"), [
    ("filename", 'a".pdf'), ("filename", "a\r\nBcc: x@evil.example"), ("filename", "확인서.pdf"),
    ("path", "../a.pdf"), ("path", "/etc/passwd"), ("path", ""), ("path", "a\\..\\b.pdf"),
    ("sha256", "abc"), ("content_type", "application/pdf\r\nX: y"),
])
def test_a_malformed_attachment_is_refused_when_owed(env: Path, field: str, value: str) -> None:
    good = certificate(1, env)
    bad = {"filename": good.attachments[0].filename, "path": good.attachments[0].path,
           "sha256": good.attachments[0].sha256, field: value}
    notice = Notice(good.kind, good.subject_type, good.subject_id, good.recipient,
                    good.recipient_name, good.payload, attachments=(Attachment(**bad),))
    open_round()
    with pytest.raises(ValueError, match="attachment"), session_scope(get_engine()) as session:
        enqueue(session, ROUND, [notice])


def test_a_dry_run_lists_the_rows_whose_file_cannot_go(env: Path) -> None:
    owe(certificate(1, env), certificate(2, env))
    why = _break(env, 1, "missing")
    unsendable: list[tuple[Outgoing, str]] = []
    with session_scope(get_engine()) as session:
        pending = notices.pending(session, ROUND)
        built = list(notices.build(session, pending, unsendable=unsendable))
        with pytest.raises(AttachmentError, match="is missing"):
            list(notices.build(session, pending))
    assert [row.recipient for row, _ in built] == ["company002@example.com"]
    assert [(row.recipient, reason) for row, reason in unsendable] == [
        ("company001@example.com", why)]


def test_a_resend_after_the_file_is_put_back_goes_with_it(smtp: ScriptedServer, env: Path
                                                          ) -> None:
    owe(certificate(1, env))
    path = env / "certificates" / ROUND / "22-IG0001-v1.pdf"
    path.rename(env / "aside.pdf")
    assert send().failed == 1
    (env / "aside.pdf").rename(path)
    with session_scope(get_engine()) as session:
        notices.resend(session, rows()["company001@example.com"].id, reason="확인서 복구",
                       actor="test", now=datetime.now(UTC))
    assert send().sent == 1
    (got,) = smtp.received
    assert files_of(got.message) == [("22-IG0001-v1.pdf", "application/pdf", pdf(1))]
