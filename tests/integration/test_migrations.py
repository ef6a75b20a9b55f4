"""The schema is what the models say: Alembic from an empty database to head (SQLite and PG)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import sangsaeng.models  # noqa: F401  (registers the tables)
from sangsaeng.db import make_engine, migrate


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)  # already at head: a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_from_empty_creates_every_table(tmp_path: object) -> None:
    from pathlib import Path

    from sqlalchemy import inspect

    path = Path(str(tmp_path)) / "empty.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables
