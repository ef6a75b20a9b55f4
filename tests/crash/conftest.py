"""The crash suite's shared parts: one Prefect server (each CLI run then skips the in-process
server's start-up), one migrated database to copy, and one undisturbed run of the round to
compare every crashed-and-rerun one with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crash.harness import ROUND_RUN, Snapshot, Workspace, completed, new_workspace, snapshot
from tests.e2e.served import Server, prefect_server


@pytest.fixture(scope="session")
def crash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on loopback, on PostgreSQL, for the suite's CLI runs (its own
    PREFECT_HOME)."""
    home = tmp_path_factory.mktemp("crash-prefect")
    with prefect_server(home, home / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty program database migrated to head (SQLite), copied by each workspace."""
    from sangsaeng.db import make_engine, migrate

    path = tmp_path_factory.mktemp("crash-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def undisturbed(tmp_path_factory: pytest.TempPathFactory, crash_server: Server,
                template_db: Path) -> Snapshot:
    """The round 2022-2 run once, end to end, without any crash: what every rerun must equal."""
    ws = new_workspace(tmp_path_factory.mktemp("undisturbed"), crash_server, template_db)
    completed(ws.run(*ROUND_RUN), "the undisturbed round run")
    return snapshot(ws)


@pytest.fixture
def workspace(tmp_path: Path, crash_server: Server, template_db: Path) -> Workspace:
    """A fresh database and var dir for one test's runs."""
    return new_workspace(tmp_path / "run", crash_server, template_db)
