"""Shared fixtures: a fresh program database per test (SQLite file, or PostgreSQL in CI's
second leg), isolated settings, and one Prefect test harness per session."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.mail.smtp_server import ScriptedServer

# Before Prefect is imported anywhere (FIELD_NOTES: fresh starts take 18–22 s).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
ROUND_2022_2 = REPO / "data" / "rounds" / "2022-2"
PG_ENV = "SANGSAENG_TEST_DATABASE_URL"


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use the database fixture are the `db` tests (rerun on PostgreSQL in CI)."""
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


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
