"""Issue 3, must show: the 2022-2 replay delivers through a real SMTP server exactly the notices
the rules imply — and running it again sends nothing."""

from __future__ import annotations

from datetime import datetime
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.models import OUTBOX
from tests.conftest import REPO, ROUND_2022_2
from tests.integration.helpers import read_csv, run
from tests.mail.smtp_server import ScriptedServer
from tests.mail.test_wording import REASON_WORDING

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
CLOSES_AT = datetime.fromisoformat("2022-05-27T18:00:00+09:00")

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _table(path: Path) -> list[dict[str, str]]:
    rows = read_csv(path.read_text(encoding="utf-8-sig"))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def implied_notices() -> set[tuple[str, str, str]]:
    """(kind, receipt, recipient) from the package and the expected decisions alone (§4, V10)."""
    late = {a["receipt_no"] for a in _table(PACKAGE / "applications.csv")
            if datetime.fromisoformat(a["submitted_at"] + "+09:00") >= CLOSES_AT}  # T2
    status = {d["receipt_no"]: d["status"] for d in _table(ROUND_2022_2 / "expected" /
                                                            "decisions.csv")}
    owed = set()
    for p in _table(PACKAGE / "participants.csv"):
        receipt, email = p["receipt_no"], p["email"]
        owed.add(("application.rejected_late" if receipt in late else "application.received",
                  receipt, email))
        outcome = status[receipt]
        owed.add((f"screening.{outcome}" if outcome == "ineligible" else f"selection.{outcome}",
                  receipt, email))
    return owed


def test_replay_delivers_exactly_the_notices_the_rules_imply_and_rerun_sends_nothing(
        smtp: ScriptedServer) -> None:
    report = run(CONFIG, PACKAGE, "2022-07-20T10:00:00+09:00", approve=True)
    assert report.state == "support"  # production is confirmed in the package (K1)
    with session_scope(get_engine()) as session:
        o = OUTBOX.c
        by_id = {r.message_id: r for r in session.execute(
            select(o.message_id, o.kind, o.subject_id, o.recipient, o.state, o.payload)).all()}
    ids = smtp.handler.message_ids()
    assert set(ids.values()) == {1}, "a message was delivered twice"
    delivered = {(by_id[g.message_id].kind, by_id[g.message_id].subject_id, g.rcpt_tos[0])
                 for g in smtp.received}
    reviewers = {r["email"] for r in _table(PACKAGE / "reviewers.csv")}
    assignments = {d for d in delivered if d[0] == "review.assignment"}
    assert assignments and {d[2] for d in assignments} <= reviewers
    certificates = {d for d in delivered if d[0] == "certificate.issued"}
    assert delivered - assignments - certificates == implied_notices()
    # K1: one certificate per confirmed lead of a selected project, to that lead
    confirmed = {(p["receipt_no"], p["brn"]) for p in _table(PACKAGE / "production.csv")}
    leads = {p["email"] for p in _table(PACKAGE / "participants.csv")
             if (p["receipt_no"], p["brn"]) in confirmed and p["role"] == "lead"}
    assert len(certificates) == 29 and {d[2] for d in certificates} == leads
    # every lead and partner of the 12 selected projects
    assert len({d[1] for d in delivered if d[0] == "selection.selected"}) == 12
    assert {r.state for r in by_id.values()} == {"sent"}

    for got in smtp.received:
        row = by_id[got.message_id]
        assert got.rcpt_tos == (row.recipient,)  # the envelope, never taken from headers
        subject = str(make_header(decode_header(got.message["Subject"])))
        assert subject.startswith("[공공조달 상생협력]")
        body = got.message.get_body(("related", "html"))
        assert body is not None
        parts = {p.get_content_type(): p.get_content()
                 for p in (got.message.get_body(("plain",)), body) if p is not None}
        assert set(parts) == {"text/plain", "text/html"}
        files = [a.get_filename() for a in got.message.iter_attachments()]
        assert files == ([f"{row.subject_id}-v1.pdf"] if row.kind == "certificate.issued"
                         else [])
        if row.kind == "screening.ineligible":  # the reasons, in plain Korean
            for code in row.payload["reasons"]:
                assert REASON_WORDING[code] in parts["text/plain"]  # fixed text, not the code
                assert code not in parts["text/plain"]

    before = len(smtp.received)
    again = run(CONFIG, PACKAGE, "2022-07-20T10:00:00+09:00", approve=True)
    assert again.state == "support"
    assert len(smtp.received) == before
