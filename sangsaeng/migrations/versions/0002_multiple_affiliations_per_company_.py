"""multiple affiliations per company; unbounded user text

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:40:57.577718
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sangsaeng.types


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# User-supplied text had lengths that PostgreSQL enforces and SQLite does not; unbounded now.
WIDENED = [
    ("application", "receipt_no", 40),
    ("document", "doc_type", 40),
    ("reviewer", "reviewer_id", 40),
    ("affiliation", "reviewer_id", 40),
    ("score", "reviewer_id", 40),
    ("auditevent", "actor", 80),
    ("auditevent", "entity_id", 60),
    ("outboxmessage", "subject_id", 60),
    ("outboxmessage", "recipient", 254),
]


def upgrade() -> None:
    for table, column, length in WIDENED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.VARCHAR(length=length),
                                  type_=sqlmodel.sql.sqltypes.AutoString(),
                                  existing_nullable=False)
    # V3: a reviewer may have several affiliations with one company (different periods)
    with op.batch_alter_table("affiliation") as batch_op:
        batch_op.drop_constraint("uq_affiliation", type_="unique")
        batch_op.create_unique_constraint(
            "uq_affiliation", ["round_id", "reviewer_id", "brn", "until"])


def downgrade() -> None:
    with op.batch_alter_table("affiliation") as batch_op:
        batch_op.drop_constraint("uq_affiliation", type_="unique")
        batch_op.create_unique_constraint("uq_affiliation", ["round_id", "reviewer_id", "brn"])
    for table, column, length in WIDENED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sqlmodel.sql.sqltypes.AutoString(),
                                  type_=sa.VARCHAR(length=length), existing_nullable=False)
