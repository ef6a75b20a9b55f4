"""Fault: the same round package imported by two processes at once, on one PostgreSQL database.

Two `sangsaeng round run … --until intake` processes (installed command, own process each) are
started together. To make them meet in the middle of the same step every time, the test holds
table locks from its own connections: both processes wait at the round's first read (open_call)
until both are there, then race on registering the round; both wait again at intake's first
read of the applications, then race on inserting the same rows. Both must end cleanly, and the
database must hold exactly one import.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select, text

from sangsaeng.models import APPLICATIONS, AUDIT, DOCUMENTS, OUTBOX, PARTICIPANTS, SCORES
from tests.faults.conftest import CONFIG, NOW, PACKAGE

SANGSAENG = Path(sys.executable).parent / "sangsaeng"


def csv_rows(name: str) -> int:
    with (PACKAGE / name).open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


ONE_IMPORT = {"applications": csv_rows("applications.csv"),
              "participants": csv_rows("participants.csv"),
              "documents": csv_rows("documents.csv"), "scores": csv_rows("scores.csv"),
              "import audited": 1}


def stored(engine: Engine) -> dict[str, int]:
    def count(table: object, *where: object) -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(*where))
                       .scalar_one())

    return {"applications": count(APPLICATIONS), "participants": count(PARTICIPANTS),
            "documents": count(DOCUMENTS), "scores": count(SCORES),
            "import audited": count(AUDIT, AUDIT.c.action == "import")}


def locked(table: str, engine: Engine) -> Connection:
    """A connection holding `table` exclusively (even reads wait) until it commits."""
    conn = engine.connect()
    conn.execute(text(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE'))
    return conn


def wait_for_waiters(engine: Engine, table: str, processes: list[subprocess.Popen[str]]) -> int:
    """Until every live process waits on `table`'s lock (or has ended); how many wait."""
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_locks "
                "WHERE NOT granted AND relation = CAST(:t AS regclass)"), {"t": table}).scalar_one()
        alive = sum(p.poll() is None for p in processes)
        if waiting >= alive:
            return int(waiting)
        time.sleep(0.2)
    raise AssertionError(f"the processes never reached {table}")


def test_two_processes_importing_the_same_package_at_once_store_it_once(
        pg_database: str, tmp_path: Path) -> None:
    """Fault: a second `round run --until intake` of the same package started with the first;
    both meet at open_call (registering the round) and at intake (inserting the rows)."""
    from sangsaeng.db import engine_for

    engine = engine_for(pg_database)  # migrated before, so that its tables can be locked
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SANGSAENG_", "PREFECT_"))}
    environ.update(SANGSAENG_DATABASE_URL=pg_database, SANGSAENG_VAR_DIR=str(tmp_path / "var"))
    command = [str(SANGSAENG), "round", "run", "--config", str(CONFIG), "--data", str(PACKAGE),
               "--now", NOW, "--until", "intake"]
    rounds, applications = locked("round", engine), locked("application", engine)
    processes = []
    try:
        for n in (1, 2):  # two offices' machines: a Prefect of their own each
            env = {**environ, "PREFECT_HOME": str(tmp_path / f"prefect-{n}")}
            processes.append(subprocess.Popen(command, env=env, cwd=tmp_path, text=True,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        met = [wait_for_waiters(engine, "round", processes)]
        rounds.commit()
        met.append(wait_for_waiters(engine, "application", processes))
        applications.commit()
        outputs = [p.communicate(timeout=150) for p in processes]
    finally:
        rounds.close()
        applications.close()
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert "Traceback" not in stderr, stderr
        assert process.returncode == 0, stderr
        assert "round 2022-2: open" in stdout
    assert met == [2, 2]  # both met at open_call, then both at intake
    assert stored(engine) == ONE_IMPORT
    with engine.connect() as conn:
        owed = conn.execute(select(OUTBOX.c.kind, OUTBOX.c.state)).all()
    assert sum(kind == "application.received" for kind, _ in owed) > 0
    assert {state for _, state in owed} == {"sent"}
    mails = list((tmp_path / "var" / "mail").rglob("*.eml"))
    assert len(mails) == len(owed)  # each notice delivered once, by one of the two
