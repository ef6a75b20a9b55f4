"""Alembic environment: runs against the engine handed over by sangsaeng.db (or the settings)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import sangsaeng.models  # noqa: F401  (registers the tables)
from sangsaeng.db import make_engine
from sangsaeng.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _migration_engine(engine: Engine) -> Engine:
    """SQLite: a private engine whose upgrade is ONE transaction, DDL included (pysqlite's
    default commits DDL as it goes, so a failed migration would leave half a schema), and
    with foreign keys off while batch mode copies referenced tables (enforced again after)."""
    if engine.dialect.name != "sqlite":
        return engine
    private = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(private, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(private, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return private


def run_migrations_online() -> None:
    """Run every pending migration in one transaction; on error nothing is changed."""
    given = config.attributes.get("engine") or make_engine(get_settings().resolved_database_url)
    engine = _migration_engine(given)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                transactional_ddl=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if connection.dialect.name == "sqlite":  # keys were off: check before commit
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
            connection.commit()
    finally:  # close what was made here; the engine handed over stays the caller's
        if engine is not given:
            engine.dispose()
        if given is not config.attributes.get("engine"):
            given.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; give alembic a database")
run_migrations_online()
