"""Helpers for the served end-to-end tests: a real `prefect server` and `sangsaeng serve` in
subprocesses, and a round package whose deadline is a few seconds ahead."""

from __future__ import annotations

import concurrent.futures
import csv
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sangsaeng.cli.scale import PG_DEFAULT, database_url, drop_database, ensure_database
from sangsaeng.cli.serve import wait_for_health
from sangsaeng.domain.clock import KST, parse_instant
from tests.conftest import PG_ENV, ROUND_2022_2

BIN = Path(sys.executable).parent
OLD_CLOSE = parse_instant("2022-05-27T18:00:00+09:00")
# Their documents are incomplete at the close, so their screening waits for the supplement
# deadline (S1, five business days later; a late one too, for its reason list): left out so
# that the served round reaches the chair within the test. The S1 run is checked as scheduled.
SUPPLEMENT_CASES = ("2022-2-019", "2022-2-022", "2022-2-024")
DATE_COLUMNS = {"founded_on", "banned_until", "until", "valid_from", "valid_to"}
T = TypeVar("T")


def admin_url() -> str:
    """The PostgreSQL server of the tests (CI's, or this machine's on 127.0.0.1:5432)."""
    from sqlalchemy.engine import make_url

    base = os.environ.get(PG_ENV)
    if not base:
        return PG_DEFAULT
    return make_url(base).set(database="postgres").render_as_string(hide_password=False)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env() -> dict[str, str]:
    """This process's environment without any SANGSAENG_/PREFECT_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANGSAENG_", "PREFECT_"))}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "INFO"}


@dataclass
class Server:
    """A running `prefect server start` on loopback."""

    api_url: str
    ui_url: str
    home: Path
    started_in: float


@contextmanager
def prefect_server(home: Path, log: Path) -> Iterator[Server]:
    """`prefect server start --host 127.0.0.1 --port <free>` with its own PREFECT_HOME and its
    own PostgreSQL database (dropped afterwards), as docs/operations.md recommends for a served
    office: on SQLite the server now and then answers "database is locked" while runs write
    heartbeats and logs (FIELD_NOTES; seen here as the UI's "Oops. Something went wrong." and a
    Resume form that never closed)."""
    admin, name = admin_url(), f"sangsaeng_e2e_prefect_{uuid.uuid4().hex[:8]}"
    ensure_database(admin, name)
    port = free_port()
    # The UI asks the API at PREFECT_UI_API_URL (default port 4200, whatever --port says).
    env = {**base_env(), "PREFECT_HOME": str(home),
           "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_API_DATABASE_CONNECTION_URL": database_url(admin, name, "asyncpg")}
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            api = f"http://127.0.0.1:{port}/api"
            took = wait_for_health(api, 180, process)
            yield Server(api, f"http://127.0.0.1:{port}", home, took)
        finally:
            stop(process)
    finally:
        drop_database(admin, name)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C (what a user does), then kill if it does not end within 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_serve(server: Server, database_url: str, var: Path, log: Path,
                extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`sangsaeng serve` against the test's Prefect server and program database (`extra`:
    more environment)."""
    env = {**base_env(), "PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(server.home),
           "SANGSAENG_DATABASE_URL": database_url, "SANGSAENG_VAR_DIR": str(var),
           "SANGSAENG_EXPORTS_PORT": "0",  # the exports' HTTP server: any free port
           "SANGSAENG_PUBLIC_PORT": "0",  # the public verification app: any free port
           **(extra or {})}
    with log.open("ab") as out:
        return subprocess.Popen([str(BIN / "sangsaeng"), "serve", "--poll-seconds", "1"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def poll(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.5) -> T:
    """`probe()` until it returns something, or fail after `timeout` seconds saying `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None and value is not False:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _shift(text: str, delta: timedelta) -> str:
    return (parse_instant(text) + delta).astimezone(KST).replace(tzinfo=None).isoformat(
        timespec="seconds")


def _rewrite(path: Path, change: Callable[[dict[str, str]], dict[str, str] | None]) -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or []), list(reader)
    kept = [r for r in (change(dict(row)) for row in rows) if r is not None]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)


def make_round(target: Path, round_id: str, closes_at: datetime) -> tuple[Path, Path]:
    """The 2022-2 package moved to a round closing at `closes_at`: returns (config, package).

    Every submission keeps its distance to the deadline (the late one stays late); documents
    sent after the deadline arrive a minute before it instead (no supplement is needed).
    """
    assert closes_at.microsecond == 0, "the package's times are whole seconds"
    delta = closes_at - OLD_CLOSE
    package = target / "package"
    package.mkdir(parents=True)
    for source in sorted((ROUND_2022_2 / "package").glob("*.csv")):
        (package / source.name).write_bytes(source.read_bytes())

    def application(row: dict[str, str]) -> dict[str, str] | None:
        if row["receipt_no"] in SUPPLEMENT_CASES:
            return None
        row["submitted_at"] = _shift(row["submitted_at"], delta)
        return {**row, "receipt_no": row["receipt_no"].replace("2022-2", round_id)}

    def document(row: dict[str, str]) -> dict[str, str] | None:
        if row["receipt_no"] in SUPPLEMENT_CASES:
            return None
        when = parse_instant(row["submitted_at"])
        if when >= OLD_CLOSE:
            when = OLD_CLOSE - timedelta(minutes=1)
        row["submitted_at"] = _shift(when.isoformat(), delta)
        return {**row, "receipt_no": row["receipt_no"].replace("2022-2", round_id)}

    def same(row: dict[str, str]) -> dict[str, str] | None:
        if row.get("receipt_no") in SUPPLEMENT_CASES:
            return None
        if "receipt_no" in row:
            row["receipt_no"] = row["receipt_no"].replace("2022-2", round_id)
        if row.get("confirmed_at"):
            row["confirmed_at"] = _shift(row["confirmed_at"], delta)
        for column in DATE_COLUMNS & row.keys():  # C4, V3, §4.5, §4.7 count from the close
            if row[column]:
                row[column] = (date.fromisoformat(row[column]) + days).isoformat()
        return row

    days = timedelta(days=delta.days)
    _rewrite(package / "applications.csv", application)
    _rewrite(package / "documents.csv", document)
    for name in ("participants.csv", "scores.csv", "production.csv", "sanctions.csv",
                 "affiliations.csv", "certificates.csv"):
        _rewrite(package / name, same)
    config = target / "round.toml"
    opens = (closes_at - timedelta(days=30)).astimezone(KST).isoformat()
    config.write_text("\n".join([
        f'id = "{round_id}"',
        f'title = "{round_id} 공공조달 상생협력 지원제도 참여기업 모집 (e2e)"',
        f'opens_at = "{opens}"',
        f'closes_at = "{closes_at.astimezone(KST).isoformat()}"',
        'tracks = ["innovation", "materials", "convergence", "value"]',
        "support_years = 3", ""]), encoding="utf-8")
    return config, package


def jsonable(value: Any) -> Any:
    """Parameters as the API takes them (paths as strings)."""
    return str(value) if isinstance(value, Path) else value


class Api:
    """Synchronous reads of the test's Prefect server (what the UI shows)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """Run `await fn(client)` against the test's server."""
        import asyncio

        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        async def go() -> Any:
            async with get_client() as client:
                return await fn(client)

        def run() -> Any:
            with temporary_settings(updates={PREFECT_API_URL: self.server.api_url}):
                return asyncio.run(go())

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        # inside Playwright's sync API, whose event loop runs in this thread: another thread
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(run).result()

    def round_runs(self, round_id: str) -> list[Any]:
        """The round's flow runs (tagged `round:<id>`)."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

        return list(self.call(lambda c: c.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"round:{round_id}"])))))

    def runs(self, round_id: str) -> dict[str, Any]:
        """The round's flow runs by name (`<round> <step's title> — <when>`)."""
        return {r.name: r for r in self.round_runs(round_id)}

    def run_named(self, round_id: str, flow_name: str, state: str) -> Any:
        """The round's run of `flow_name`, named for it (flows/run_names.py), if in `state`."""
        from flows.registry import BY_NAME

        for name, run in self.runs(round_id).items():
            if (name.startswith(f"{round_id} {BY_NAME[flow_name].title} — ") and run.state
                    and run.state.name == state):
                return run
        return None

    def scheduled_runs(self, deployment_id: Any) -> list[Any]:
        """A deployment's runs that wait for their time."""
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterId,
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType

        return list(self.call(lambda c: c.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))))

    def log_of(self, run_id: Any) -> list[str]:
        """A flow run's log messages, as its page in the UI lists them."""
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

        return [log.message for log in self.call(lambda c: c.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[run_id]))))]

    def log_levels(self, run_id: Any) -> dict[str, int]:
        """How many lines of a flow run's log are at each level (INFO, ERROR, …)."""
        import logging

        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

        levels: dict[str, int] = {}
        for log in self.call(lambda c: c.read_logs(log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[run_id])))):
            name = logging.getLevelName(log.level)
            levels[name] = levels.get(name, 0) + 1
        return levels

    def deployments(self) -> list[Any]:
        """Every deployment on the server."""
        return list(self.call(lambda c: c.read_deployments()))

    def latest_artifact(self, key: str) -> Any:
        """The newest version of an artifact, or None."""
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        found = self.call(lambda c: c.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))))
        return found[0] if found else None

    def start(self, deployment: str, parameters: dict[str, Any]) -> Any:
        """Create a run of a deployment, as the UI's run form does."""
        async def go(client: Any) -> Any:
            found = await client.read_deployment_by_name(deployment)
            return await client.create_flow_run_from_deployment(found.id, parameters=parameters)

        return self.call(go)

    def resume(self, run_id: Any, run_input: dict[str, Any]) -> None:
        """Resume a paused/suspended run with its typed input, as the UI's form does."""
        from prefect.flow_runs import resume_flow_run
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.server.api_url}):
            resume_flow_run(run_id, run_input=run_input)


def sangsaeng(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the `sangsaeng` command; no traceback may reach the user."""
    done = subprocess.run([str(BIN / "sangsaeng"), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done
