"""Faults injected into real parts (issue 13 §4): a PostgreSQL database of each test's own on
127.0.0.1:5432, the CLI as the office runs it, real SMTP and a real (tmpfs) full disk."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from tests.conftest import PG_ENV, REPO, ROUND_2022_2

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
EXPECTED = ROUND_2022_2 / "expected"
NOW = "2022-07-20T10:00:00+09:00"
# The server the brief names; CI's PostgreSQL leg names the same one through PG_ENV.
PG_BASE = os.environ.get(PG_ENV) or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a `faults` test (they run by default)."""
    for item in items:
        if "tests/faults/" in item.nodeid:
            item.add_marker(pytest.mark.faults)


def cli(*args: str) -> tuple[int, str, str]:
    """`sangsaeng …` in this process (a listener on the engine sees its statements)."""
    result = CliRunner().invoke(app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def app():  # type: ignore[no-untyped-def]
    from sangsaeng.cli import app as sangsaeng_app

    return sangsaeng_app


def run_round(*extra: str) -> tuple[int, str, str]:
    return cli("round", "run", "--config", str(CONFIG), "--data", str(PACKAGE), "--now", NOW,
               "--approve", *extra)


def error_lines(stderr: str) -> list[str]:
    """What the user is told went wrong (progress bars and notes aside)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def plain(text: str) -> list[str]:
    return text.lstrip("\ufeff").replace("\r\n", "\n").splitlines()


def admin_engine() -> Engine:
    """A superuser connection to the server, outside any test database (AUTOCOMMIT)."""
    return create_engine(make_url(PG_BASE).set(database="postgres"),
                         isolation_level="AUTOCOMMIT")


def pg_url(name: str) -> str:
    return make_url(PG_BASE).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of this test's own (dropped after); its URL."""
    admin = admin_engine()
    name = f"sangsaeng_fault_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:  # pragma: no cover - CI and the office have PostgreSQL
        admin.dispose()
        pytest.skip(f"no PostgreSQL server at {make_url(PG_BASE).host}: {exc.orig}")
    yield pg_url(name)
    from sangsaeng.db import dispose_engines

    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_env(pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings on the test's PostgreSQL database and a private var dir; returns the var dir."""
    from sangsaeng.db import dispose_engines
    from sangsaeng.settings import get_settings

    var = tmp_path / "var"
    for name in [n for n in os.environ if n.startswith("SANGSAENG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SANGSAENG_DATABASE_URL", pg_database)
    monkeypatch.setenv("SANGSAENG_VAR_DIR", str(var))
    get_settings.cache_clear()
    dispose_engines()
    yield var
    dispose_engines()
    get_settings.cache_clear()
