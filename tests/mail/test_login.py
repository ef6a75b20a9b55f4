"""SMTP login problems (issue 10, item 2): a server that offers no AUTH, or refuses the
password, stops the batch with one line that says why; every row is released at once,
nothing is lost and the password is never shown."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mail.helpers import ROUND, owe, rows, send, sender_env
from tests.mail.smtp_server import Login, ScriptedServer

PASSWORD = "pw-7Qx-never-shown"
SANGSAENG = Path(sys.executable).parent / "sangsaeng"


@pytest.fixture
def with_auth(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    """A real SMTP server that offers AUTH and knows the office's password (not PASSWORD)."""
    from sangsaeng.settings import get_settings

    server = ScriptedServer(Login("office", "the-right-one"))
    server.start()
    monkeypatch.setenv("SANGSAENG_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SANGSAENG_SMTP_PORT", str(server.port))
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


def _login_as(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    from sangsaeng.settings import get_settings

    monkeypatch.setenv("SANGSAENG_SMTP_USER", "office")
    monkeypatch.setenv("SANGSAENG_SMTP_PASSWORD", password)
    get_settings.cache_clear()


def test_a_server_without_auth_stops_the_batch_and_releases_every_row(
        smtp: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    owe(5)
    _login_as(monkeypatch, PASSWORD)
    report = send()  # no exception escapes
    assert report.stopped is not None and "AUTH" in report.stopped
    assert "login" in report.stopped and PASSWORD not in report.stopped
    assert (report.sent, report.failed, report.released) == (0, 0, 5)
    assert {(r.state, r.attempts) for r in rows().values()} == {("pending", 0)}
    assert smtp.received == []


def test_a_refused_password_stops_the_batch_and_the_right_one_sends_everything(
        with_auth: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    owe(5)
    _login_as(monkeypatch, PASSWORD)
    report = send()
    assert report.stopped is not None and "535" in report.stopped
    assert PASSWORD not in report.stopped
    assert (report.sent, report.failed, report.released) == (0, 0, 5)
    assert {(r.state, r.attempts) for r in rows().values()} == {("pending", 0)}
    _login_as(monkeypatch, "the-right-one")
    assert send().sent == 5


def _send_with_a_wrong_password(database_url: str, env: Path, *, offers_auth: bool
                                ) -> subprocess.CompletedProcess[str]:
    """`sangsaeng notices send` as an operator runs it, logging in with PASSWORD to a server
    that offers no AUTH or knows another password."""
    server = ScriptedServer(Login("office", "the-right-one") if offers_auth else None)
    server.start()
    try:
        return subprocess.run([str(SANGSAENG), "notices", "send", "--round", ROUND],
                              env=sender_env(database_url, env, server.port,
                                             SANGSAENG_SMTP_USER="office",
                                             SANGSAENG_SMTP_PASSWORD=PASSWORD),
                              capture_output=True, text=True, timeout=120, check=False)
    finally:
        server.stop()


@pytest.mark.parametrize("offers_auth", [False, True], ids=["no-auth", "wrong-password"])
def test_notices_send_with_a_login_problem_says_why_in_one_line(
        offers_auth: bool, database_url: str, env: Path) -> None:
    """The real command, as an operator runs it: one line, exit 1, no row left `sending`."""
    owe(3)
    done = _send_with_a_wrong_password(database_url, env, offers_auth=offers_auth)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and PASSWORD not in done.stdout + done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: delivery stopped: SMTP login")
    assert "3 notice(s) wait in the outbox" in line
    assert [x for x in done.stderr.splitlines() if x.strip() and "notices" not in x] == [line]
    assert {(r.state, r.attempts) for r in rows().values()} == {("pending", 0)}


def test_starttls_required_but_not_offered_stops_the_batch_and_releases_every_row(
        smtp: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from sangsaeng.settings import get_settings

    owe(3)
    monkeypatch.setenv("SANGSAENG_SMTP_TLS", "starttls")
    get_settings.cache_clear()
    report = send()  # no exception escapes
    assert report.stopped is not None and "STARTTLS" in report.stopped
    assert (report.sent, report.released) == (0, 3)
    assert {(r.state, r.attempts) for r in rows().values()} == {("pending", 0)}


def test_the_count_said_after_a_refused_login_is_what_waits_in_the_whole_outbox(
        database_url: str, env: Path) -> None:
    """Issue 22 item 6: with more notices than one batch (200), the line said 200 (the batch
    given back) while 216 were pending."""
    owe(216)
    done = _send_with_a_wrong_password(database_url, env, offers_auth=True)
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    waiting = sum(r.state == "pending" for r in rows().values())
    assert waiting == 216
    assert f"; {waiting} notice(s) wait in the outbox, nothing is lost" in line
