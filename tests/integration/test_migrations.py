"""The schema is what the models say: Alembic from an empty database to head (SQLite and PG)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import sangsaeng.models  # noqa: F401  (registers the tables)
from sangsaeng.db import make_engine, migrate
from tests.conftest import PG_ENV


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


def test_long_user_text_is_stored_on_every_database(database_url: str) -> None:
    """Receipt numbers, document types and reviewer ids have no length limit (0002)."""
    from datetime import UTC, datetime

    from sqlmodel import Session

    from sangsaeng.models import Application, Document, Reviewer, Round

    engine = make_engine(database_url)
    receipt = "2022-2-" + "9" * 120
    with Session(engine) as session:
        now = datetime.now(UTC)
        session.add(Round(id="2022-2", title="t", opens_at=now, closes_at=now, tracks=[],
                          support_years=3))
        session.flush()  # no ORM relationships: the parent row goes first explicitly
        session.add(Reviewer(round_id="2022-2", reviewer_id="R" * 90, name="n", email="e@x.kr"))
        session.flush()
        app = Application(round_id="2022-2", receipt_no=receipt, track="value",
                          product_name="p", product_code="1234567890", submitted_at=now)
        session.add(app)
        session.flush()
        session.add(Document(application_id=app.id, doc_type="d" * 80, submitted_at=now))
        session.commit()
        assert session.get(Application, app.id).receipt_no == receipt  # type: ignore[union-attr]
    engine.dispose()


def test_upgrading_a_database_with_data_keeps_it(database_url: str) -> None:
    """A database made by an older release is upgraded in place, rows and references intact."""
    from alembic import command
    from sqlalchemy import text

    from sangsaeng.db import alembic_config

    engine = make_engine(database_url)
    config = alembic_config(engine)
    command.downgrade(config, "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO round (id, title, opens_at, closes_at, tracks, support_years, settings,"
            " state, created_at, updated_at) VALUES ('2022-2', 't', '2022-05-02 00:00:00',"
            " '2022-05-27 09:00:00', '[]', 3, '{}', 'open', '2022-05-01 00:00:00',"
            " '2022-05-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO application (round_id, receipt_no, track, product_name, product_code,"
            " submitted_at, state, reasons, missing_documents) VALUES ('2022-2', '2022-2-001',"
            " 'value', 'p', '1234567890', '2022-05-10 00:00:00', 'received', '', '[]')"))
        conn.execute(text(
            "INSERT INTO company (brn, name) VALUES ('124-81-00998', '㈜상생')"))
        conn.execute(text(
            "INSERT INTO participant (application_id, role, seq, brn, name, size, founded_on,"
            " representative, email, address, direct_production) SELECT id, 'lead', 1,"
            " '124-81-00998', '㈜상생', 'small', '2020-01-01', 'r', 'a@b.kr', 'x', false"
            " FROM application"))
    migrate(engine)
    with engine.connect() as conn:
        kept = conn.execute(text(
            "SELECT a.receipt_no, p.name FROM participant p JOIN application a"
            " ON a.id = p.application_id")).all()
    engine.dispose()
    assert [tuple(r) for r in kept] == [("2022-2-001", "㈜상생")]


FAILING_MIGRATION = '''
"""a migration that fails halfway (test only)"""
import sqlalchemy as sa
from alembic import op

revision = "fails"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch_op:
        batch_op.add_column(sa.Column("half_done", sa.Integer(), nullable=True))
    raise RuntimeError("disk full")


def downgrade() -> None:
    pass
'''


def test_a_failing_migration_changes_nothing(database_url: str, tmp_path: object) -> None:
    """Every pending migration runs in one transaction (DDL included, SQLite too)."""
    from pathlib import Path

    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text

    from sangsaeng.db import MIGRATIONS, alembic_config

    scripts = Path(str(tmp_path)) / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    engine = make_engine(database_url)
    migrate(engine)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    (scripts / "versions" / "9999_fails.py").write_text(FAILING_MIGRATION.replace(
        "{head}", str(head)), encoding="utf-8")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO company (brn, name) VALUES ('124-81-00998', '㈜상생')"))
    config = alembic_config(engine)
    config.set_main_option("script_location", str(scripts))
    with pytest.raises(RuntimeError, match="disk full"):
        command.upgrade(config, "head")
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        names = conn.execute(text("SELECT name FROM company")).scalars().all()
    columns = {c["name"] for c in inspect(engine).get_columns("application")}
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert version == head and names == ["㈜상생"]
    assert "half_done" not in columns
    assert not any(t.startswith("_alembic_tmp") for t in tables)


@pytest.mark.db
def test_two_processes_migrating_a_new_postgresql_database_at_once_both_succeed() -> None:
    """Two workers started together on a new database: one creates the tables, the other
    waits for it (an advisory lock) and finds nothing left to do — no duplicate-table error."""
    from sqlalchemy import create_engine, inspect, text

    # PostgreSQL runs on this machine and in CI: the SQLite leg runs this test too
    base = os.environ.get(PG_ENV) or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    name = f"sangsaeng_m_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    code = ("import sys; from sangsaeng.db import make_engine, migrate; "
            "migrate(make_engine(sys.argv[1]))")
    try:
        workers = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE,
                                    text=True) for _ in range(2)]
        errors = [worker.communicate(timeout=300)[1] for worker in workers]
        assert [w.returncode for w in workers] == [0, 0], errors
        engine = make_engine(url)
        assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0009_gives_the_audit_rows_already_written_their_chain(tmp_path: object) -> None:
    """Issue 26 item 3: rows written before the chain existed get it in the migration, per
    round in the order written; `audit verify` then holds, and an edit still shows."""
    from datetime import UTC, datetime
    from pathlib import Path

    from alembic import command
    from sqlalchemy import text
    from sqlmodel import Session

    from sangsaeng.db import alembic_config
    from sangsaeng.services.audit import ChainBroken, verify

    engine = make_engine(f"sqlite:///{Path(str(tmp_path)) / 'before.db'}")
    command.upgrade(alembic_config(engine), "0008")
    with engine.begin() as conn:
        for n, round_id in enumerate(["2022-1", "2022-2", "2022-1", None, "2022-2"]):
            conn.execute(text(
                "INSERT INTO auditevent (at, recorded_at, actor, round_id, entity, entity_id, "
                "action, from_state, to_state, reason, rule, data) VALUES (:at, :at, 'office', "
                ":round, 'round', :entity, 'transition', 'open', 'closed', :reason, 'T2', "
                "'{\"n\": 1}')"), {"at": datetime(2022, 5, 27, 9, n, tzinfo=UTC).replace(
                    tzinfo=None), "round": round_id, "entity": round_id or "-",
                    "reason": f"row {n}"})
    migrate(engine)
    with Session(engine) as session:
        checked = verify(session)
        assert (checked.rows, checked.chains) == (5, 3)
        session.execute(text("UPDATE auditevent SET reason = 'edited' WHERE id = 3"))
        with pytest.raises(ChainBroken, match="감사 기록 #3 "):
            verify(session, "2022-1")
    engine.dispose()
