"""Fault: the program database becomes unreachable, or read-only, in the middle of a step.

Injected for real on PostgreSQL: a SQLAlchemy `after_cursor_execute` listener on the process's
engine waits for the intake step's INSERTs and then, from a separate admin connection, ends the
step's backend (`pg_terminate_backend`) — and for the read-only case first sets the database
`default_transaction_read_only`, so that every new connection is read-only. The office's command
(`sangsaeng round run`, in this process through typer's runner) must say so in one line, exit
non-zero, keep nothing of the interrupted step, and complete the round when run again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from sangsaeng.mail.embedded import free_port
from sangsaeng.models import AUDIT, OUTBOX, ROUNDS
from tests.faults.conftest import (
    EXPECTED,
    admin_engine,
    cli,
    error_lines,
    plain,
    run_round,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")

INTAKE_TABLES = ("application", "participant", "company", "document", "score", "reviewer")


class Fault:
    """Arms a listener that, after the `after`-th INSERT since intake's first INSERT INTO
    application, runs `strike(backend_pid)` once from outside the step's connection."""

    def __init__(self, strike: Callable[[int], None], after: int = 3) -> None:
        self.strike, self.after = strike, after
        self.inserts: list[str] = []
        self.struck = False

    def __call__(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if self.struck:
            return
        if statement.startswith("INSERT INTO application "):
            self.inserts.append("application")
        elif self.inserts and statement.startswith("INSERT INTO "):
            self.inserts.append(statement.split()[2])
        if len(self.inserts) >= self.after:
            self.struck = True
            self.strike(cursor.connection.info.backend_pid)


@pytest.fixture
def engine(pg_env: Path) -> Iterator[Any]:
    from sangsaeng.db import get_engine

    yield get_engine()  # migrated: the listener below sees only the round's statements


def terminate(pid: int) -> None:
    admin = admin_engine()
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()


def database_of(engine: Any) -> str:
    return str(make_url(engine.url).database)


def intake_rows(engine: Any) -> dict[str, int]:
    """What intake writes, read through a connection of its own."""
    with engine.connect() as conn:
        counts = {t: conn.execute(select(func.count()).select_from(text(t))).scalar_one()
                  for t in INTAKE_TABLES}
        counts["receipts owed"] = conn.execute(select(func.count()).select_from(OUTBOX).where(
            OUTBOX.c.kind == "application.received")).scalar_one()
        counts["import audited"] = conn.execute(select(func.count()).select_from(AUDIT).where(
            AUDIT.c.action == "import")).scalar_one()
        counts["round state"] = conn.execute(select(ROUNDS.c.state).where(
            ROUNDS.c.id == "2022-2")).scalar_one()
    return counts


NOTHING_OF_INTAKE = {**dict.fromkeys(INTAKE_TABLES, 0), "receipts owed": 0,
                     "import audited": 0, "round state": "open"}


def assert_one_clear_line(code: int, stderr: str, *words: str) -> str:
    assert code not in (0, None)
    assert "Traceback" not in stderr
    (line,) = error_lines(stderr)
    assert line.startswith("error: database error (postgresql+psycopg://postgres")
    assert "the interrupted step saved nothing" in line
    assert "run the command again once the database is reachable and writable" in line
    for word in words:
        assert word in line
    return line


def assert_completes_as_undisturbed(tmp_path: Path) -> None:
    code, stdout, stderr = run_round()
    assert code == 0, stderr
    assert "round 2022-2: support" in stdout
    out = tmp_path / "decisions.csv"
    assert cli("export", "decisions", "--round", "2022-2", "--out", str(out))[0] == 0
    expected = (EXPECTED / "decisions.csv").read_text(encoding="utf-8-sig")
    assert plain(out.read_text(encoding="utf-8")) == plain(expected)


def test_database_unreachable_mid_intake_is_one_line_and_keeps_nothing_of_the_step(
        engine: Any, tmp_path: Path) -> None:
    """Fault: the database connection dies (pg_terminate_backend) after intake's 3rd INSERT
    (applications, companies and participants written, not committed) of `round run`."""
    fault = Fault(terminate)
    event.listen(engine, "after_cursor_execute", fault)
    try:
        code, _, stderr = run_round()
    finally:
        event.remove(engine, "after_cursor_execute", fault)
    assert fault.struck and fault.inserts[0] == "application"
    assert_one_clear_line(code, stderr, "terminating connection")
    assert intake_rows(engine) == NOTHING_OF_INTAKE
    assert_completes_as_undisturbed(tmp_path)


def test_database_turned_read_only_mid_intake_is_one_line_and_keeps_nothing_of_the_step(
        engine: Any, tmp_path: Path) -> None:
    """Fault: the database is set read-only (ALTER DATABASE … default_transaction_read_only)
    after intake's 3rd INSERT and the step's backend terminated, so every new connection of
    the round (the reconnect, the final delivery) is read-only."""
    name = database_of(engine)

    def read_only(pid: int) -> None:
        admin = admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        admin.dispose()
        terminate(pid)

    fault = Fault(read_only)
    event.listen(engine, "after_cursor_execute", fault)
    try:
        code, _, stderr = run_round()
    finally:
        event.remove(engine, "after_cursor_execute", fault)
    assert fault.struck
    assert_one_clear_line(code, stderr, "read-only transaction")
    assert intake_rows(engine) == NOTHING_OF_INTAKE
    admin = admin_engine()
    with admin.connect() as conn:  # the database is writable again
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off'))
    admin.dispose()
    engine.dispose()  # pooled connections began read-only
    assert_completes_as_undisturbed(tmp_path)


def test_no_database_listening_is_one_line_and_a_non_zero_exit(
        pg_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: SANGSAENG_DATABASE_URL names a port where nothing listens (the server is down
    before the command starts): `round run` and an export each say so in one line."""
    from sangsaeng.db import dispose_engines
    from sangsaeng.settings import get_settings

    url = f"postgresql+psycopg://postgres:pw-never-shown@127.0.0.1:{free_port()}/sangsaeng"
    monkeypatch.setenv("SANGSAENG_DATABASE_URL", url)
    get_settings.cache_clear()
    dispose_engines()
    code, _, stderr = run_round()
    line = assert_one_clear_line(code, stderr, "Connection refused")
    assert "pw-never-shown" not in stderr and "***" in line
    code, _, stderr = cli("export", "decisions", "--round", "2022-2")
    assert code == 1 and len(stderr.strip().splitlines()) == 1
    assert_one_clear_line(code, stderr, "Connection refused")
