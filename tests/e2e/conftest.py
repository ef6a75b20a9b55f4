"""A real Prefect server on loopback for the served end-to-end tests (one per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.served import Server, prefect_server


@pytest.fixture(scope="session")
def served_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on loopback, on PostgreSQL, with its own PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-server")
    with prefect_server(home, home / "server.log") as server:
        yield server
