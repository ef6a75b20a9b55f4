"""A real Prefect server on loopback for the served end-to-end tests (one per session)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sangsaeng.cli.scale import database_url, drop_database, ensure_database
from tests.e2e.served import Server, admin_url, prefect_server


@pytest.fixture(scope="session")
def served_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start --host 127.0.0.1 --port <free>` with its own PREFECT_HOME and its
    own PostgreSQL database, as docs/operations.md recommends for a served office: on SQLite,
    Prefect's server answers a UI form now and then with "database is locked" while `serve`
    writes its heartbeats and logs (FIELD_NOTES; seen here as the run form's "Oops. Something
    went wrong." and a Resume form that never closed)."""
    admin = admin_url()
    name = f"sangsaeng_e2e_prefect_{uuid.uuid4().hex[:8]}"
    ensure_database(admin, name, fresh=True)
    home = tmp_path_factory.mktemp("prefect-server")
    try:
        with prefect_server(home, home / "server.log",
                            database_url(admin, name, "asyncpg")) as server:
            yield server
    finally:
        drop_database(admin, name)
