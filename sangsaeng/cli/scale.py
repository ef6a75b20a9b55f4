"""Scale-out on Prefect's own engine (docs/deploy.md): a `prefect server` on PostgreSQL, a process
work pool, workers and the deployments of `prefect.yaml`, all on this machine.

`cluster()` starts them (and stops what it started); `make scale-demo` runs the 2022-2 round
through the `round` deployment with them, as the office would: the chair's approval is given
through the suspended run's input. `bench/round_scale.py --pool` uses the same cluster.
Every process gets PREFECT_API_URL (none may start a temporary in-process server), analytics
are off, and everything listens on loopback only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from flows import registry
from flows.prefect_api import PrefectApi
from sangsaeng.cli.common import err, fail, out
from sangsaeng.cli.serve import SERVER_START_TIMEOUT_S, ServerError, wait_for_health
from sangsaeng.errors import SangsaengError
from sangsaeng.settings import REPO_ROOT

POOL = "sangsaeng"  # prefect.yaml's work pool
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SCALE_DEMO_ROUND, SCALE_DEMO_NOW = "2022-2", "2022-07-20T10:00:00+09:00"  # as `make demo`
WORKER_START_TIMEOUT_S = 120
# A worker told to stop with no run left often exits at once, but one in two (Prefect 3.9, seen
# in the suite: the last worker to have run a flow) sat 60 s after its "Received SIGINT" line
# with no child process until killed — two minutes of every scale-demo run. The runs are over
# when the cluster stops (the demo and the tests wait for them), so a short grace suffices.
WORKER_STOP_GRACE_S = 10
RUN_TIMEOUT_S = 1800


class ClusterError(SangsaengError):
    """A part of the cluster did not start, or a run did not end as it should."""


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(admin_url: str, name: str, driver: str = "psycopg") -> str:
    """`admin_url` pointing at database `name`, with the given async/sync driver."""
    from sqlalchemy.engine import make_url

    url = make_url(admin_url).set(drivername=f"postgresql+{driver}", database=name)
    return url.render_as_string(hide_password=False)


def ensure_database(admin_url: str, name: str, fresh: bool = False) -> bool:
    """Create PostgreSQL database `name` unless it exists (`fresh`: drop it first).
    Returns True when it was created."""
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if fresh:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": name}).first():
                return False
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    except Exception as exc:  # any driver error: one clear line
        raise ClusterError(f"PostgreSQL at {admin.url.render_as_string(hide_password=True)}: "
                           f"cannot create database {name}: {str(exc).splitlines()[0]}") from None
    finally:
        admin.dispose()


def drop_database(admin_url: str, name: str) -> None:
    """Drop PostgreSQL database `name` (connections are closed by force)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def stop(*processes: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Ctrl-C to every process at once (a worker lets its runs finish their state change),
    then kill those still running after `timeout` seconds in all."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Cluster:
    """A running server, work pool and workers; `env` is what each of their processes got."""

    api_url: str
    ui_url: str
    env: dict[str, str]
    var: Path
    logs: Path
    program_database: str
    worker_names: list[str] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def api(self) -> PrefectApi:
        """Calls to the cluster's server."""
        return PrefectApi(self.api_url)

    def prefect(self, *args: str, log: str) -> None:
        """Run a `prefect` command against the cluster (output to logs/<log>.log)."""
        with (self.logs / f"{log}.log").open("ab") as handle:
            done = subprocess.run([str(Path(sys.executable).parent / "prefect"), *args],
                                  env=self.env, cwd=REPO_ROOT, stdout=handle,
                                  stderr=subprocess.STDOUT, check=False, timeout=600)
        if done.returncode:
            raise ClusterError(f"`prefect {' '.join(args)}` failed (status {done.returncode}); "
                               f"see {self.logs / f'{log}.log'}")


def cluster_env(api_url: str, home: Path, var: Path, program_url: str) -> dict[str, str]:
    """The environment of every process of the cluster: no inherited Prefect or program
    setting, the API everywhere (no process may start its own temporary server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANGSAENG_", "PREFECT_"))}
    keep = {k: v for k, v in os.environ.items()  # the mail relay and its secret, if configured
            if k.startswith(("SANGSAENG_SMTP_", "SANGSAENG_MAIL_"))}
    return {**env, **keep,
            "PREFECT_API_URL": api_url, "PREFECT_UI_API_URL": api_url, "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
            # a worker looks for runs every 2 s (default 10): the office's run starts at once
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "SANGSAENG_HOME": str(REPO_ROOT),  # prefect.yaml's pull step: the checkout
            "SANGSAENG_DATABASE_URL": program_url, "SANGSAENG_VAR_DIR": str(var),
            "SANGSAENG_EXPORTS_PORT": "0",
            # a served installation refuses a QR only this machine opens (issue 25, item 4);
            # the demo is one machine on loopback by design, and says so when it issues
            "SANGSAENG_ALLOW_LOCAL_VERIFY_URL": "true"}


@contextmanager
def cluster(var: Path, *, pg: str = PG_DEFAULT, program_db: str = "sangsaeng_scale",
            prefect_db: str = "prefect_scale", workers: int = 2, fresh: bool = False,
            limit: int | None = None, say: Callable[[str], None] = lambda _: None
            ) -> Iterator[Cluster]:
    """A Prefect server on PostgreSQL database `prefect_db`, the `sangsaeng` process pool,
    prefect.yaml deployed and `workers` workers (each running at most `limit` flow runs at
    once) whose runs use the program database `program_db`; stopped when the block ends (the
    databases are kept)."""
    from sangsaeng.db import make_engine, migrate

    var, logs, home = var.resolve(), var.resolve() / "logs", var.resolve() / "prefect-home"
    logs.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    for name in (program_db, prefect_db):
        created = ensure_database(pg, name, fresh)
        say(f"PostgreSQL database {name}: {'created' if created else 'reused'}")
    program_url = database_url(pg, program_db)
    engine = make_engine(program_url)  # migrated once here, before the workers start
    migrate(engine)
    engine.dispose()
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {**cluster_env(api_url, home, var, program_url), **signing_env(var)}
    prefect = str(Path(sys.executable).parent / "prefect")
    with ExitStack() as stack:
        started = time.monotonic()
        server_env = {**env, "PREFECT_API_DATABASE_CONNECTION_URL":
                      database_url(pg, prefect_db, "asyncpg")}
        with (logs / "server.log").open("ab") as handle:
            server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1",
                                       "--port", str(port)], env=server_env, stdout=handle,
                                      stderr=subprocess.STDOUT)
        stack.callback(stop, server)
        try:
            took = wait_for_health(api_url, SERVER_START_TIMEOUT_S, server)
        except ServerError as exc:
            raise ClusterError(f"{exc}; see {logs / 'server.log'}") from None
        say(f"Prefect server on PostgreSQL ({prefect_db}) up in {took:.0f} s: "
            f"UI at http://127.0.0.1:{port}")
        found = Cluster(api_url, f"http://127.0.0.1:{port}", env, var, logs, program_url)
        found.prefect("work-pool", "create", POOL, "--type", "process", "--overwrite",
                      log="deploy")
        found.prefect("--no-prompt", "deploy", "--all", log="deploy")
        deployments = found.api.deployments()
        say(f"work pool {POOL} (process); {len(deployments)} deployments from prefect.yaml")
        stack.callback(lambda: stop(*found.workers, timeout=WORKER_STOP_GRACE_S))
        for i in range(1, workers + 1):
            name = f"{POOL}-worker-{i}"
            own = worker_var(var, i)  # issue 24 item 4: no disk shared with the others
            shutil.rmtree(own, ignore_errors=True)
            own.mkdir(parents=True)
            with (logs / f"worker-{i}.log").open("ab") as handle:
                worker = subprocess.Popen(
                    [prefect, "worker", "start", "--pool", POOL, "--name", name,
                     *(["--limit", str(limit)] if limit else [])],
                    env={**env, "SANGSAENG_VAR_DIR": str(own)}, cwd=REPO_ROOT, stdout=handle,
                    stderr=subprocess.STDOUT)
            found.workers.append(worker)
        found.worker_names = wait_for_workers(found, workers)
        say(f"workers online: {', '.join(found.worker_names)} "
            f"(cluster up in {time.monotonic() - started:.0f} s)")
        yield found


def worker_var(var: Path, i: int) -> Path:
    """Worker `i`'s own var directory, emptied when the cluster starts: workers share only
    the databases (issue 24 item 4; docs/deploy.md)."""
    return var / f"worker-{i}"


def signing_env(var: Path) -> dict[str, str]:
    """The key every worker signs certificate PDFs with, given to each as configuration (as
    the office gives its own: SANGSAENG_SIGNING_KEY, SANGSAENG_SIGNING_CERT); on embedded
    defaults the demo pair, made once under `<var>/signing/demo/`."""
    from sangsaeng.documents.signing import signing_keys
    from sangsaeng.settings import Settings

    keys = signing_keys(Settings(var_dir=var))
    given = {"SANGSAENG_SIGNING_KEY": str(keys.key.resolve()),
             "SANGSAENG_SIGNING_CERT": str(keys.cert.resolve())}
    secret = os.environ.get("SANGSAENG_SIGNING_KEY_PASSPHRASE")
    return {**given, "SANGSAENG_SIGNING_KEY_PASSPHRASE": secret} if secret else given


def wait_for_workers(found: Cluster, count: int) -> list[str]:
    """Until `count` of the cluster's workers are online (their first heartbeat)."""
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        for i, worker in enumerate(found.workers, 1):
            if worker.poll() is not None:
                raise ClusterError(f"worker {i} exited with status {worker.returncode}; see "
                                   f"{found.logs / f'worker-{i}.log'}")
        online = found.api.online_workers(POOL)
        if len(online) >= count:
            return online
        time.sleep(1)
    raise ClusterError(f"{count} workers not online after {WORKER_START_TIMEOUT_S} s; see "
                       f"{found.logs}")


def scale_demo(
    workers: Annotated[int, typer.Option(help="workers to start")] = 2,
    pg: Annotated[str, typer.Option(help="PostgreSQL server (a database to connect to first)")
                  ] = PG_DEFAULT,
    program_db: Annotated[str, typer.Option(help="the program database")] = "sangsaeng_scale",
    prefect_db: Annotated[str, typer.Option(help="Prefect server's database")] = "prefect_scale",
    var: Annotated[Path, typer.Option(help="where outputs and logs go")] = Path("var/scale-demo"),
    fresh: Annotated[bool, typer.Option(help="drop and recreate both databases first")] = False,
) -> None:
    """Run the 2022-2 round through a Prefect server on PostgreSQL and a work pool with
    `workers` workers (docs/deploy.md); writes <var>/decisions.csv and stops what it started."""
    from sangsaeng.cli.exports import write_outputs
    from sangsaeng.cli.rounds import print_certificates, print_figures, print_notices

    config = REPO_ROOT / "config" / "rounds" / f"{SCALE_DEMO_ROUND}.toml"
    data = REPO_ROOT / "data" / "rounds" / SCALE_DEMO_ROUND / "package"
    started = datetime.now().astimezone()
    try:
        with cluster(var, pg=pg, program_db=program_db, prefect_db=prefect_db,
                     workers=workers, fresh=fresh, say=err.print) as found:
            run = found.api.start(registry.ROUND.name, {
                "config": str(config), "data": str(data), "now": SCALE_DEMO_NOW,
                "wait_for_chair": True, "actor": "office"}, name=f"{SCALE_DEMO_ROUND}-scale-demo")
            err.print(f"round run {run.name} started: {found.ui_url}/runs/flow-run/{run.id}")
            run, given = found.api.follow(run.id, {"approve": True, "approved_by": "위원장"},
                                          RUN_TIMEOUT_S, say=err.print)
            if run.state.name != "Completed":
                raise ClusterError(f"the round run ended {run.state.name}: see it in the UI "
                                   f"({found.ui_url}) and the worker logs in {found.logs}")
            deliveries = [r for r in found.api.finished_runs(f"notices:{SCALE_DEMO_ROUND}",
                                                              RUN_TIMEOUT_S)
                          if r.created and r.created >= started]  # a reused server has more
            took = found.api.runs_by_worker(started, at_least=given + 1 + len(deliveries))
            seen = sorted(set(found.api.online_workers(POOL)) | set(took))
            out.print(f"workers: {len(seen)}")
            for name in seen:
                out.print(f"  {name}: executed {took.get(name, 0)} flow runs since the start")
            out.print(f"round run: {run.state.name} (the chair's inputs given: {given}); "
                      "notice deliveries: "
                      + ", ".join(r.state.name for r in deliveries if r.state))
            os.environ["SANGSAENG_DATABASE_URL"] = found.program_database
            os.environ["SANGSAENG_VAR_DIR"] = str(found.var)
            from sangsaeng.settings import get_settings

            get_settings.cache_clear()
            write_outputs(SCALE_DEMO_ROUND, found.var,
                          "규모 시연: 예시 회차의 결과 파일 (make scale-demo)")
            print_figures(SCALE_DEMO_ROUND)
            print_certificates(SCALE_DEMO_ROUND)
            print_notices(SCALE_DEMO_ROUND)
            fetch_from_database(found)
            out.print(f"outputs in {found.var} (decisions.csv, selection.*, announcement.md, "
                      f"certificates.csv); each worker's exports, PDFs and mail in its own var "
                      f"({', '.join(str(worker_var(found.var, i)) for i in range(1, workers + 1))}"
                      f"); logs in {found.logs}")
    except SangsaengError as exc:
        fail(exc)
    out.print("stopped the workers and the server; the databases are kept "
              f"({program_db}, {prefect_db}; --fresh starts them anew)")


def fetch_from_database(found: Cluster) -> None:
    """What issue 24 item 4 asks: a process with a new, empty var directory and the program
    database fetches a certificate PDF and the round's package (`certificates pdf`, `round
    package`), whichever worker wrote or read them."""
    import hashlib

    from sqlalchemy import select

    from sangsaeng.db import make_engine
    from sangsaeng.models import CERTIFICATES

    fetch = found.var / "fetch"
    shutil.rmtree(fetch, ignore_errors=True)
    engine = make_engine(found.program_database)
    try:
        with engine.connect() as connection:
            first = connection.execute(
                select(CERTIFICATES.c.number, CERTIFICATES.c.pdf_sha256)
                .where(CERTIFICATES.c.round_id == SCALE_DEMO_ROUND)
                .order_by(CERTIFICATES.c.number)).first()
    finally:
        engine.dispose()
    if first is None:
        raise ClusterError(f"round {SCALE_DEMO_ROUND} has no certificate to fetch")
    number, sha = first
    env = {**found.env, "SANGSAENG_VAR_DIR": str(fetch / "var")}
    reason = "규모 시연: 빈 var 폴더에서 DB로 가져오기 (make scale-demo)"
    sangsaeng = str(Path(sys.executable).parent / "sangsaeng")
    for args in (["certificates", "pdf", number, "--out", str(fetch / f"{number}.pdf")],
                 ["round", "package", "--round", SCALE_DEMO_ROUND, "--out",
                  str(fetch / "package")]):
        done = subprocess.run([sangsaeng, *args, "--reason", reason], env=env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode:
            raise ClusterError(f"`sangsaeng {' '.join(args[:2])}` from an empty var directory "
                               f"failed: {done.stderr.strip()}")
    same = hashlib.sha256((fetch / f"{number}.pdf").read_bytes()).hexdigest() == sha
    files = sorted(p.name for p in (fetch / "package").iterdir())
    out.print(f"from an empty var directory ({fetch}), through the program database only: "
              f"{number}.pdf ({'the issued bytes' if same else 'NOT the issued bytes'}), the "
              f"round's package ({len(files)} files)")
    if not same:
        raise ClusterError(f"{number}.pdf fetched from the database is not the PDF issued")


def main() -> None:
    """`python -m sangsaeng.cli.scale` (what `make scale-demo` runs)."""
    typer.run(scale_demo)


if __name__ == "__main__":
    main()
