"""`make scale-demo` as CI runs it (issue 13 §1): a `prefect server` on PostgreSQL, a process work
pool and two workers, the deployments of prefect.yaml, the 2022-2 round through the `round`
deployment with the chair's approval given through the suspended run's input — and the
decisions equal `expected/`, every notice delivered, nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from sangsaeng.cli.scale import PG_DEFAULT, drop_database
from tests.conftest import PG_ENV, ROUND_2022_2
from tests.e2e.served import base_env

pytestmark = [pytest.mark.e2e, pytest.mark.served]


def admin_url() -> str:
    """The PostgreSQL server of the tests (CI's, or this machine's on 127.0.0.1:5432)."""
    from sqlalchemy.engine import make_url

    base = os.environ.get(PG_ENV)
    if not base:
        return PG_DEFAULT
    return make_url(base).set(database="postgres").render_as_string(hide_password=False)


def test_the_scale_demo_runs_the_round_through_two_workers_and_decides_as_expected(
    tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    program_db, prefect_db = f"sangsaeng_sd_{suffix}", f"prefect_sd_{suffix}"
    var = tmp_path / "scale-demo"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sangsaeng.cli.scale", "--fresh", "--pg", admin_url(),
             "--program-db", program_db, "--prefect-db", prefect_db, "--var", str(var)],
            env={**base_env(), "COLUMNS": "200"}, capture_output=True, text=True, timeout=1200,
            check=False)
    finally:
        drop_database(admin_url(), program_db)
        drop_database(admin_url(), prefect_db)
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown
    assert "Traceback" not in shown
    assert "workers: 2" in done.stdout.splitlines()
    assert "PostgreSQL database" in done.stderr and "created" in done.stderr
    assert "the chair's input given (approve=True)" in done.stderr  # through the run input
    assert "round run: Completed (the chair's inputs given: 1)" in done.stdout
    # Every notice of the round went out, also those decided after the suspension.
    assert "notices sent 216, waiting 0, failed 0" in done.stdout
    assert "2022-2: 29 certificates" in done.stdout
    for name in ("decisions.csv", "selection.csv"):
        assert (var / name).read_bytes() == (ROUND_2022_2 / "expected" / name).read_bytes()
    assert sorted(p.name for p in (var / "certificates" / "2022-2").glob("*.pdf"))[:1] == [
        "22-IG0001-v1.pdf"]
    # It stopped what it started: no server or worker of its PREFECT_HOME is left.
    home = str(var.resolve() / "prefect-home")
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline", "environ"])
            if (p.info.get("environ") or {}).get("PREFECT_HOME") == home]
    assert left == []
