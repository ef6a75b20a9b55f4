"""`make scale-demo` as CI runs it (issue 13 §1): a `prefect server` on PostgreSQL, a process work
pool and two workers, the deployments of prefect.yaml, the 2022-2 round through the `round`
deployment with the chair's approval given through the suspended run's input — and the
decisions equal `expected/`, every notice delivered, nothing left running."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from sangsaeng.cli.scale import drop_database
from tests.conftest import ROUND_2022_2
from tests.e2e.served import admin_url, base_env

# Not in the `served` lane (tests/conftest.py): the cluster has its own server, its runs are
# waited for without a deadline of seconds, and beside the served lane it takes the other
# worker's time instead of adding two minutes to the longest lane of `make test`.
pytestmark = [pytest.mark.e2e]


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
    # Issue 24 item 4: each worker had a var directory of its own, empty when it started;
    # nothing went to a shared one, and a process with a third, empty one and the program
    # database fetched a certificate PDF (the issued bytes) and the round's package.
    pdfs = {p.name for i in (1, 2)
            for p in (var / f"worker-{i}" / "certificates" / "2022-2").glob("*.pdf")}
    assert len(pdfs) == 29 and "22-IG0001-v1.pdf" in pdfs
    assert not (var / "certificates").exists() and not (var / "mail").exists()
    assert ("through the program database only: 22-IG0001.pdf (the issued bytes), the "
            "round's package (9 files)") in " ".join(done.stdout.split())
    package = sorted((ROUND_2022_2 / "package").iterdir())
    assert [p.read_bytes() for p in package] == [
        (var / "fetch" / "package" / p.name).read_bytes() for p in package]
    # It stopped what it started: no server or worker of its PREFECT_HOME is left.
    home = str(var.resolve() / "prefect-home")
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline", "environ"])
            if (p.info.get("environ") or {}).get("PREFECT_HOME") == home]
    assert left == []


def test_two_workers_run_two_rounds_at_once_on_postgresql_and_each_decides_as_alone(
    tmp_path: Path
) -> None:
    """Issue 13 §2: one run per worker (`--limit 1`), two rounds started together through the
    `round` deployment on one PostgreSQL program database: both complete (no deadlock), both
    workers ran one, the runs overlapped, and each round's decisions equal those of the same
    round run alone by the CLI (2022-2: `expected/`)."""
    from datetime import timedelta

    from sangsaeng.cli.scale import cluster
    from sangsaeng.synthetic import DEFAULT_CLOSES_AT, DEFAULT_TRACKS, generate_round

    synthetic = tmp_path / "synthetic"
    data = generate_round(synthetic, round_id="2022-9", applications=600, seed=7,
                          quota={t: 15 for t in DEFAULT_TRACKS})
    later = (DEFAULT_CLOSES_AT + timedelta(days=60)).isoformat()
    alone = cli_decisions(tmp_path / "alone", f"sqlite:///{tmp_path / 'alone.db'}", "2022-9",
                          ["round", "run", "--config", str(synthetic / "round.toml"),
                           "--data", str(data), "--now", later, "--approve"])
    suffix = uuid.uuid4().hex[:8]
    program_db, prefect_db = f"sangsaeng_sd_{suffix}", f"prefect_sd_{suffix}"
    rounds = {"2022-2": {"config": str(ROUND_2022_2 / "round.toml"),
                         "data": str(ROUND_2022_2 / "package"),
                         "now": "2022-07-20T10:00:00+09:00"},
              "2022-9": {"config": str(synthetic / "round.toml"), "data": str(data),
                         "now": later}}
    try:
        with cluster(tmp_path / "cluster", pg=admin_url(), program_db=program_db,
                     prefect_db=prefect_db, workers=2, limit=1, fresh=True) as found:
            since = datetime.now(UTC)
            started = [found.api.start("round", {**p, "approve": True, "actor": "office"},
                                       name=f"{r}-at-once") for r, p in rounds.items()]
            runs = [found.api.follow(run.id, None, 900)[0] for run in started]
            deliveries = [found.api.finished_runs(f"notices:{r}", 600) for r in rounds]
            took = found.api.runs_by_worker(
                since, at_least=len(runs) + sum(len(d) for d in deliveries))
            decided = {r: cli_decisions(tmp_path / r, found.program_database, r,
                                        []) for r in rounds}
    finally:
        drop_database(admin_url(), program_db)
        drop_database(admin_url(), prefect_db)
    assert [r.state.name for r in runs] == ["Completed", "Completed"]
    assert all(d.state and d.state.name == "Completed" for ds in deliveries for d in ds)
    first, second = runs
    assert first.start_time < second.end_time and second.start_time < first.end_time  # at once
    assert sorted(took) == ["sangsaeng-worker-1", "sangsaeng-worker-2"], took
    assert decided["2022-2"] == (ROUND_2022_2 / "expected" / "decisions.csv").read_bytes()
    assert decided["2022-9"] == alone


def cli_decisions(var: Path, database: str, round_id: str, before: list[str]) -> bytes:
    """`sangsaeng <before…>` (if any), then `export decisions` of the round: its bytes."""
    env = {**base_env(), "SANGSAENG_DATABASE_URL": database, "SANGSAENG_VAR_DIR": str(var),
           "PREFECT_HOME": str(var.parent / "prefect-home"),  # FIELD_NOTES: fresh = slow
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}
    sangsaeng = str(Path(sys.executable).parent / "sangsaeng")
    out = var / "decisions.csv"
    for args in ([before] if before else []) + [
            ["export", "decisions", "--round", round_id, "--out", str(out)]]:
        done = subprocess.run([sangsaeng, *args], env=env, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return out.read_bytes()
