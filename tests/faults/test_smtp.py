"""Fault: the SMTP server is down for the whole round.

Injected for real: SANGSAENG_SMTP_HOST/PORT name a loopback port where nothing listens (a
capture server's port, not started yet) while `sangsaeng round run` replays 2022-2 in this
process. Then the capture server (aiosmtpd) starts on that port and the office sends what waits.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.models import OutboxMessage
from tests.faults.conftest import EXPECTED, cli, plain, run_round
from tests.mail.smtp_server import ScriptedServer

pytestmark = pytest.mark.usefixtures("prefect_harness")


def outbox() -> list[OutboxMessage]:
    with session_scope(get_engine()) as session:
        return list(session.scalars(select(OutboxMessage)))


def test_smtp_down_for_the_whole_round_then_every_notice_is_delivered_once(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: no SMTP server listens during the whole 2022-2 round (open_call to
    mall_listing_support); delivered afterwards by `sangsaeng notices send`."""
    from sangsaeng.settings import get_settings

    server = ScriptedServer()  # its port is reserved; nothing listens there yet
    monkeypatch.setenv("SANGSAENG_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SANGSAENG_SMTP_PORT", str(server.port))
    monkeypatch.setenv("SANGSAENG_SMTP_TIMEOUT", "5")
    get_settings.cache_clear()

    code, stdout, stderr = run_round()
    assert code == 0, stderr
    assert "round 2022-2: support" in stdout
    said = " ".join(stdout.split())
    assert said.count("wait in the outbox") == 1  # one line for the round, not one per step
    out = tmp_path / "decisions.csv"
    assert cli("export", "decisions", "--round", "2022-2", "--out", str(out))[0] == 0
    assert plain(out.read_text(encoding="utf-8")) == plain(
        (EXPECTED / "decisions.csv").read_text(encoding="utf-8-sig"))
    waiting = outbox()
    kinds = Counter(row.kind for row in waiting)
    assert {"application.received", "selection.selected", "certificate.issued"} <= set(kinds)
    assert {row.state for row in waiting} == {"pending"}  # none failed, none lost
    assert (f"{len(waiting)} notice(s) wait in the outbox, nothing is lost (cannot connect to "
            f"127.0.0.1:{server.port}") in said
    assert "`sangsaeng notices send --round 2022-2` sends them" in said

    code, stdout, stderr = cli("notices", "status", "--round", "2022-2")
    assert code == 0 and "Traceback" not in stderr

    server.start()
    try:
        code, stdout, stderr = cli("notices", "send", "--round", "2022-2")
        assert code == 0, stderr
        assert f"sent {len(waiting)}" in stdout
        received = Counter(got.message_id for got in server.received)
    finally:
        server.stop()
    delivered = outbox()
    assert {row.state for row in delivered} == {"sent"}
    assert received == Counter({row.message_id: 1 for row in delivered})  # each exactly once
    assert len(delivered) == len(waiting)
