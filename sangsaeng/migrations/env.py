"""Alembic environment: runs against the engine handed over by sangsaeng.db (or the settings)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import sangsaeng.models  # noqa: F401  (registers the tables)
from sangsaeng.db import make_engine
from sangsaeng.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run migrations on a live connection."""
    engine = config.attributes.get("engine") or make_engine(get_settings().resolved_database_url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # batch mode rebuilds tables: referenced rows must not block the copy
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; give alembic a database")
run_migrations_online()
