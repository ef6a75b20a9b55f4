"""Shared fixtures: a fresh program database per test (SQLite file, or PostgreSQL in CI's
second leg), isolated settings, and one Prefect test harness per session."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.mail.smtp_server import ScriptedServer

# Before Prefect is imported anywhere (FIELD_NOTES: fresh starts take 18–22 s).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# Under pytest-xdist (`make test`) each worker keeps its Prefect home apart: the CLI tests'
# in-process servers keep their SQLite database there, and two processes on one file meet
# "database is locked" (FIELD_NOTES; .ci/run gives its PostgreSQL leg a home of its own too).
if os.environ.get("PYTEST_XDIST_WORKER"):
    _home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    os.environ["PREFECT_HOME"] = str(_home / "xdist" / os.environ["PYTEST_XDIST_WORKER"])
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
ROUND_2022_2 = REPO / "data" / "rounds" / "2022-2"
PG_ENV = "SANGSAENG_TEST_DATABASE_URL"
REPLAY_CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
REPLAY_NOW = "2022-07-20T10:00:00+09:00"


def package_workbook(package: Path, target: Path) -> Path:
    """The round package's CSV files as one workbook, a sheet per file (the portal's XLSX
    export, INTERFACES §2), cells as the CSV's text."""
    import csv

    from openpyxl import Workbook

    workbook = Workbook()
    assert workbook.active is not None
    workbook.remove(workbook.active)
    for path in sorted(package.glob("*.csv")):
        sheet = workbook.create_sheet(path.stem)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                sheet.append(row)
    workbook.save(target)
    return target


def pytest_configure(config: pytest.Config) -> None:
    """The fuzz suite's tally as a plugin (in pytest-xdist's controller too)."""
    from tests.fuzz import tally

    config.pluginmanager.register(tally, "sangsaeng-fuzz-tally")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use the database fixture are the `db` tests (rerun on PostgreSQL in CI)."""
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: plain pytest runs without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test`'s two pytest-xdist workers take a test file at a time (`--dist loadfile`:
    its module fixtures stay in one process), and the `served` files one after another on one
    worker: each starts a real Prefect server, `serve` or workers and waits on deadlines and
    pick-ups that two such files at once on 2 cores pushed past their time (a loaded run). A
    file is `served` when it marks a test so (`pytest.mark.served`)."""
    from xdist.scheduler import LoadFileScheduling

    if config.getvalue("dist") != "loadfile":
        return None
    served: dict[str, bool] = {}

    class ServedTogether(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            if path not in served:
                served[path] = "mark.served" in (Path(config.rootpath) / path).read_text(
                    encoding="utf-8")
            return "served" if served[path] else path

    return ServedTogether(config, log)


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated empty database that each test copies (fast: no migrations per test)."""
    from sqlalchemy import create_engine, text

    from sangsaeng.db import make_engine, migrate

    base = os.environ.get(PG_ENV)
    if not base:
        path = tmp_path_factory.mktemp("db") / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        engine.dispose()
        yield str(path)
        return
    name = f"sangsaeng_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_pg_url(base, name))
    migrate(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_url(base: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).set(database=database).render_as_string(hide_password=False)


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated program database for one test."""
    from sqlalchemy import create_engine, text

    base = os.environ.get(PG_ENV)
    if not base:
        path = tmp_path / "sangsaeng.db"
        shutil.copyfile(_template, path)
        yield f"sqlite:///{path}"
        return
    name = f"sangsaeng_t_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"'))
    yield _pg_url(base, name)
    from sangsaeng.db import dispose_engines

    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_admin(base: str) -> Any:
    from sqlalchemy import create_engine

    return create_engine(base, isolation_level="AUTOCOMMIT")


def _pg_from_template(base: str, name: str, template: str, *, replace: bool = False) -> None:
    """CREATE DATABASE name TEMPLATE template (dropping `name` first when `replace`)."""
    from sqlalchemy import text

    admin = _pg_admin(base)
    with admin.connect() as conn:
        if replace:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing at a fresh database and a private var dir; returns the var dir."""
    from sangsaeng.db import dispose_engines
    from sangsaeng.settings import get_settings

    var = tmp_path / "var"
    monkeypatch.setenv("SANGSAENG_DATABASE_URL", database_url)
    monkeypatch.setenv("SANGSAENG_VAR_DIR", str(var))
    get_settings.cache_clear()
    dispose_engines()
    yield var
    dispose_engines()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness (temporary API + database) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def smtp(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    """A real SMTP server (aiosmtpd) on loopback that the settings send to; fast retries."""
    from sangsaeng.settings import get_settings
    from tests.mail.smtp_server import ScriptedServer

    server = ScriptedServer()
    server.start()
    monkeypatch.setenv("SANGSAENG_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SANGSAENG_SMTP_PORT", str(server.port))
    monkeypatch.setenv("SANGSAENG_SMTP_TIMEOUT", "5")
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


@dataclass(frozen=True)
class Replayed:
    """A round replayed once per session: its database (an SQLite file, or a PostgreSQL
    database used as a template), its var dir, and what the replay returned."""

    database: str
    var: Path
    output: Any


def _replay_once(template: str, root: Path, replay: Callable[[], Any]) -> Iterator[Replayed]:
    """Run `replay` on a fresh copy of the migrated database and a var dir under `root`, with
    the settings pointing at them (as `env` does for a test); yield the result for copying."""
    from sangsaeng.db import dispose_engines
    from sangsaeng.settings import get_settings

    base = os.environ.get(PG_ENV)
    if base:
        database = f"sangsaeng_replayed_{uuid.uuid4().hex[:8]}"
        _pg_from_template(base, database, template)
        url = _pg_url(base, database)
    else:
        database = str(root / "replayed.db")
        shutil.copyfile(template, database)
        url = f"sqlite:///{database}"
    var = root / "var"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SANGSAENG_DATABASE_URL", url)
        patch.setenv("SANGSAENG_VAR_DIR", str(var))
        get_settings.cache_clear()
        dispose_engines()
        try:
            output = replay()
        finally:
            dispose_engines()
            get_settings.cache_clear()
    if not base:  # the WAL folded into the file, so that a plain copy holds everything
        with sqlite3.connect(database) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    yield Replayed(database, var, output)
    if base:
        from sqlalchemy import text

        admin = _pg_admin(base)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def _restore(replayed: Replayed, database_url: str, var: Path) -> None:
    """Make the test's database and var dir what the session's replay left (instead of
    replaying again): a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL."""
    from sqlalchemy.engine import make_url

    from sangsaeng.db import dispose_engines

    dispose_engines()
    url = make_url(database_url)
    base = os.environ.get(PG_ENV)
    if base:
        assert url.database is not None
        _pg_from_template(base, url.database, replayed.database, replace=True)
    else:
        assert url.database is not None
        shutil.copyfile(replayed.database, url.database)
    if replayed.var.exists():
        shutil.copytree(replayed.var, var, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def _replayed_flow(_template: str, prefect_harness: None,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    """The 2022-2 round replayed once through the `round` flow, approved, at REPLAY_NOW."""
    from tests.integration.helpers import run

    root = tmp_path_factory.mktemp("replayed-flow")
    yield from _replay_once(_template, root, lambda: run(
        REPLAY_CONFIG, ROUND_2022_2 / "package", REPLAY_NOW, approve=True))


@pytest.fixture(scope="session")
def _replayed_cli(_template: str, prefect_harness: None,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    """The 2022-2 round replayed once through `sangsaeng round run … --approve` (in-process,
    as tests/e2e/test_cli.py runs it); its output is (exit code, stdout, stderr)."""
    from tests.e2e.test_cli import run_round

    root = tmp_path_factory.mktemp("replayed-cli")
    yield from _replay_once(_template, root, lambda: run_round(ROUND_2022_2 / "package"))


@pytest.fixture
def replayed(env: Path, database_url: str, _replayed_flow: Replayed) -> Any:
    """This test's database and var dir as `run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)`
    leaves them (the session's one replay, copied); returns that run's report."""
    _restore(_replayed_flow, database_url, env)
    return _replayed_flow.output


@pytest.fixture
def replayed_cli(env: Path, database_url: str, _replayed_cli: Replayed) -> tuple[int, str, str]:
    """This test's database and var dir as the CLI's approved 2022-2 replay leaves them (the
    session's one run, copied); returns its (exit code, stdout, stderr)."""
    _restore(_replayed_cli, database_url, env)
    return _replayed_cli.output
