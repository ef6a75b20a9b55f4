"""`sangsaeng notices …` and `sangsaeng companies …` as the office uses them, and a sender
killed with SIGKILL mid-batch (a real process against a real SMTP server on loopback)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sangsaeng.cli import app
from sangsaeng.db import get_engine, session_scope
from sangsaeng.mail.outbox import enqueue
from sangsaeng.models import AUDIT, OUTBOX, AccessEntry
from tests.mail.helpers import ROUND, certificate, open_round, owe, rows, sender_env
from tests.mail.smtp_server import ScriptedServer

SANGSAENG = Path(sys.executable).parent / "sangsaeng"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_status_counts_by_kind_and_state_and_lists_failures_with_replies(
        smtp: ScriptedServer) -> None:
    bad, *_ = owe(3)
    from collections import deque

    smtp.script.rcpt[bad] = deque(["550 5.1.1 user unknown"])
    code, out, _ = cli("notices", "send", "--round", ROUND)
    assert code == 0 and "sent 2" in out and "failed 1" in out
    code, out, _ = cli("notices", "status", "--round", ROUND)
    assert code == 0
    line = next(x for x in out.splitlines() if "application.received" in x)
    assert [cell.strip() for cell in line.split("│")[1:6]] == [
        "application.received", "0", "0", "2", "1"]
    assert f"{bad}: 550 5.1.1 user unknown" in " ".join(out.split())


def test_preview_shows_the_batch_and_writes_it_without_sending(
        smtp: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANGSAENG_ACCESS_REASON", raising=False)
    owe(3)
    # every message with its address is personal data going out: a reason first (issue 27)
    code, out, err = cli("notices", "preview", "--round", ROUND, "--out", str(tmp_path / "pv"))
    assert (code, out) == (2, "") and "받는 사람의 이메일 주소" in err and "--reason" in err
    assert not (tmp_path / "pv").exists()
    code, out, _ = cli("notices", "preview", "--round", ROUND, "--out", str(tmp_path / "pv"),
                       "--reason", "발송 전 문구 검토")
    assert code == 0
    assert "application.received × 3" in out and "접수" in out
    assert len(list((tmp_path / "pv").glob("*.eml"))) == 3
    assert smtp.received == [] and {r.state for r in rows().values()} == {"pending"}
    code, out, _ = cli("notices", "preview", "--round", ROUND)  # a sample on the terminal
    assert code == 0 and "application.received × 3" in out
    with session_scope(get_engine()) as session:
        logged = [(r.action, r.what, r.subject_count, r.reason) for r in session.scalars(
            select(AccessEntry).order_by(AccessEntry.id))]
    assert logged == [("output", f"{ROUND}/안내 메일 미리보기 (.eml)", 3, "발송 전 문구 검토"),
                      ("view", f"{ROUND}/안내 메일 미리보기", 3, "발송 전 확인")]


def test_dry_run_builds_every_message_and_changes_nothing(smtp: ScriptedServer) -> None:
    owe(4)
    code, out, _ = cli("notices", "send", "--round", ROUND, "--dry-run")
    assert code == 0 and "4 message(s) built" in out
    assert smtp.received == [] and {r.state for r in rows().values()} == {"pending"}


def test_preview_names_the_attachments_and_a_dry_run_the_files_that_cannot_go(
        smtp: ScriptedServer, env: Path, tmp_path: Path) -> None:
    open_round()
    with session_scope(get_engine()) as session:
        enqueue(session, ROUND, [certificate(1, env), certificate(2, env)])
    code, out, _ = cli("notices", "preview", "--round", ROUND, "--kind", "certificate.issued")
    assert code == 0 and "certificate.issued × 2" in out
    assert "Attachments: 22-IG0001-v1.pdf" in out
    (env / "certificates" / ROUND / "22-IG0002-v1.pdf").unlink()
    why = "attachment 22-IG0002-v1.pdf is missing: nothing was sent"
    code, out, _ = cli("notices", "send", "--round", ROUND, "--dry-run")
    assert code == 0 and "1 message(s) built" in out
    assert "1 notice(s) would fail" in out and why in " ".join(out.split())
    code, out, err = cli("notices", "preview", "--round", ROUND, "--out", str(tmp_path / "pv"),
                         "--reason", "첨부 파일 확인")
    assert code == 0 and "wrote 1 message(s)" in err and why in " ".join(out.split())
    assert len(list((tmp_path / "pv").glob("*.eml"))) == 1
    assert smtp.received == [] and {r.state for r in rows().values()} == {"pending"}


def test_a_dry_run_builds_more_distinct_bodies_than_the_composer_keeps(
        smtp: ScriptedServer) -> None:
    """The composer keeps the last 512 bodies: a batch of more was a KeyError."""
    owe(600)
    code, out, _ = cli("notices", "send", "--round", ROUND, "--dry-run")
    assert code == 0 and "600 message(s) built" in out


def test_resend_on_purpose_is_a_new_audited_row_with_a_new_message_id(
        smtp: ScriptedServer) -> None:
    (address,) = owe(1)
    cli("notices", "send", "--round", ROUND)
    original = rows()[address]
    code, _out, _ = cli("notices", "resend", "--id", str(original.id), "--reason", "회사 요청")
    assert code == 0
    cli("notices", "send", "--round", ROUND)
    ids = [g.message_id for g in smtp.received]
    assert len(ids) == 2 and ids[0] == original.message_id and ids[1] != ids[0]
    with session_scope(get_engine()) as session:
        audit = session.execute(select(AUDIT.c.action, AUDIT.c.reason, AUDIT.c.data)
                                .where(AUDIT.c.entity == "notice")).all()
    assert [(a.action, a.reason, a.data["original"]) for a in audit] == [
        ("resend", "회사 요청", original.id)]


def test_resend_without_a_reason_is_refused_in_one_line(smtp: ScriptedServer) -> None:
    (address,) = owe(1)
    code, _, err = cli("notices", "resend", "--id", str(rows()[address].id), "--reason", " ")
    assert code != 0 and err.strip().endswith("a resend needs a reason (it is audited)")


def test_send_while_the_server_is_down_says_so_and_loses_nothing(smtp: ScriptedServer) -> None:
    owe(2)
    smtp.stop()
    code, _, err = cli("notices", "send", "--round", ROUND)
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: delivery stopped: cannot connect")
    assert "nothing is lost" in err
    smtp.start()
    assert cli("notices", "send", "--round", ROUND)[0] == 0
    assert len(smtp.received) == 2


def test_companies_import_keeps_good_rows_and_names_the_bad_ones(env: Path, tmp_path: Path
                                                                  ) -> None:
    path = tmp_path / "companies.csv"
    path.write_text("brn,name,email,opted_in\n"
                    "123-45-67891,주식회사 한빛,ceo@hanbit.example.com,Y\n"
                    "220-81-62517,나래,not an address,Y\n", encoding="utf-8")
    code, out, err = cli("companies", "import", str(path))
    assert code == 2
    assert "companies.csv 3행, email 열, 값 'not an address'" in err
    assert "1 added" in out


def test_a_sender_killed_mid_batch_loses_nothing_and_duplicates_only_messages_in_flight(
        smtp: ScriptedServer, database_url: str, env: Path) -> None:
    owe(240)
    smtp.script.delay = 0.01  # ~100 messages/s per connection: slow enough to kill mid-batch
    environ = sender_env(database_url, env, smtp.port,
                         SANGSAENG_SMTP_CONNECTIONS="4", SANGSAENG_MAIL_LEASE_SECONDS="2")
    command = [str(SANGSAENG), "notices", "send", "--round", ROUND]
    sender = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(smtp.received) < 80 and time.monotonic() < deadline:
        time.sleep(0.01)
    sender.send_signal(signal.SIGKILL)
    sender.wait()
    at_kill = len(smtp.received)
    states = [r.state for r in rows().values()]

    assert 80 <= at_kill < 240 and "sending" in states  # killed mid-batch, rows still leased

    time.sleep(2.1)  # the lease ends; the rerun takes the crashed sender's rows
    rerun = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120,
                           check=False)
    assert rerun.returncode == 0, rerun.stderr
    with session_scope(get_engine()) as session:
        owed = dict(session.execute(select(OUTBOX.c.message_id, OUTBOX.c.state)).all())
    assert set(owed.values()) == {"sent"}
    got = smtp.handler.message_ids()
    assert set(got) == set(owed)  # every message arrived, each with its original Message-ID
    duplicates = sum(n - 1 for n in got.values())
    # in flight at the kill: at most one message per connection (4) is on the wire or accepted
    # with its outcome not yet committed (issue 22 item 1; it was 4 + 32 outcomes before)
    assert duplicates <= 4, f"{duplicates} duplicates"


def _pending() -> int:
    return sum(r.state == "pending" for r in rows().values())


def _terminated_mid_batch(command: list[str], environ: dict[str, str], smtp: ScriptedServer
                          ) -> tuple[subprocess.Popen[str], str]:
    """Start a sender of 40 rows, SIGTERM it while 2 messages are on the wire (38 claimed and
    queued), check those 38 are given back at once, then let the 2 finish; returns its stderr."""
    process = subprocess.Popen(command, env=environ, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while smtp.script.held < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert smtp.script.held == 2
    process.send_signal(signal.SIGTERM)
    while _pending() < 38 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _pending() == 38  # given back at once, while the two are still on the wire
    smtp.script.gate.release(2)
    _, err = process.communicate(timeout=120)
    return process, err


def test_sigterm_finishes_the_messages_on_the_wire_and_gives_back_the_rest_at_once(
        smtp: ScriptedServer, database_url: str, env: Path) -> None:
    """Issue 10, item 4: a systemd stop or a cancelled run leaves no row `sending`."""
    owe(40)
    smtp.script.hold = 1000  # every message waits mid-DATA until the test lets it go
    environ = sender_env(database_url, env, smtp.port,
                         SANGSAENG_SMTP_CONNECTIONS="2")
    sender, err = _terminated_mid_batch(
        [str(SANGSAENG), "notices", "send", "--round", ROUND], environ, smtp)

    assert sender.returncode == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "error: delivery stopped: terminated (SIGTERM); 38 notice(s) wait in the outbox, "
        "nothing is lost")
    states = {(r.state, r.attempts) for r in rows().values()}
    assert states == {("sent", 1), ("pending", 0)} and _pending() == 38
    smtp.script.hold = 0
    assert cli("notices", "send", "--round", ROUND)[0] == 0
    got = smtp.handler.message_ids()
    assert sorted(got.values()) == [1] * 40  # no duplicate: the two on the wire were recorded


# What Prefect's engine does in a served run's process: SIGTERM (the runner cancelling the run)
# becomes TerminationSignal in the main thread, where the flow's event loop runs the delivery
# task.
_PREFECT_TASK = """
import asyncio, sys
from prefect.utilities.engine import capture_sigterm
from tasks.notices import deliver_notices
with capture_sigterm():
    asyncio.run(deliver_notices.fn(sys.argv[1]))
"""


def test_a_cancelled_prefect_delivery_gives_back_its_rows_at_once(
        smtp: ScriptedServer, database_url: str, env: Path) -> None:
    """Issue 10, item 4, for Prefect runs: the task's sender stops gently on the run's SIGTERM
    (before Prefect's handler turns it into TerminationSignal), then the process ends by the
    signal as Prefect ends it."""
    owe(40)
    smtp.script.hold = 1000
    environ = sender_env(database_url, env, smtp.port,
                         SANGSAENG_SMTP_CONNECTIONS="2", PREFECT_SERVER_EPHEMERAL_ENABLED="false")
    task, err = _terminated_mid_batch([sys.executable, "-c", _PREFECT_TASK, ROUND], environ,
                                      smtp)
    assert task.returncode == -signal.SIGTERM, err  # ended by the signal, as Prefect ends it
    assert {(r.state, r.attempts) for r in rows().values()} == {("sent", 1), ("pending", 0)}
    smtp.script.hold = 0
    assert cli("notices", "send", "--round", ROUND)[0] == 0
    assert sorted(smtp.handler.message_ids().values()) == [1] * 40


def test_send_and_status_say_how_many_rows_another_sender_holds_and_until_when(
        smtp: ScriptedServer) -> None:
    from datetime import UTC, datetime, timedelta

    from sangsaeng.mail.outbox import claim

    owe(3)
    until = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)  # 12:04:05 KST
    with session_scope(get_engine()) as session:  # another sender's claim, far from over
        claim(session, now=until - timedelta(seconds=300), lease=timedelta(seconds=300),
              limit=2, token="another")
    code, out, _ = cli("notices", "send", "--round", ROUND)
    assert code == 0 and "sent 1," in out
    note = ("2 notice(s) are leased by {} until 2031-01-02 12:04:05 KST "
            "(sent by it, or due again then)")
    assert note.format("another sender") in out.splitlines()
    code, out, _ = cli("notices", "status", "--round", ROUND)
    assert code == 0 and note.format("a sender") in out.splitlines()


def test_two_sender_processes_draining_one_broadcast_send_each_message_once(
        smtp: ScriptedServer, database_url: str, env: Path) -> None:
    """Issue 13 §2: two `notices send` processes started together on one broadcast (on
    PostgreSQL in CI's second leg): every row sent once, counted by Message-ID at the server,
    both processes end (no deadlock), and each took a share."""
    owe(400)
    smtp.script.delay = 0.02  # ~2 s of work: both senders are busy at once
    environ = sender_env(database_url, env, smtp.port,
                         SANGSAENG_SMTP_CONNECTIONS="4")
    command = [str(SANGSAENG), "notices", "send", "--round", ROUND]
    senders = [subprocess.Popen(command, env=environ, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [sender.communicate(timeout=180) for sender in senders]  # a deadlock times out
    assert [s.returncode for s in senders] == [0, 0], outputs
    with session_scope(get_engine()) as session:
        owed = dict(session.execute(select(OUTBOX.c.message_id, OUTBOX.c.state)).all())
    assert len(owed) == 400 and set(owed.values()) == {"sent"}
    got = smtp.handler.message_ids()
    assert set(got) == set(owed)
    assert [mid for mid, n in got.items() if n > 1] == []  # no message sent twice
    shares = [int(m) for out, _ in outputs for m in re.findall(r"sent (\d+)", out)[:1]]
    assert len(shares) == 2 and sum(shares) == 400 and min(shares) > 0, outputs
