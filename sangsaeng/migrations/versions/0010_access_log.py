"""the access log of personal data (issue 27 item 1)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 21:40:00

접속기록: every view, download, output or destruction of personal data, chained by hash per
KST month (domain/access.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sangsaeng.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('accesslog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('operator', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('what', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('round_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('subjects', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('subject_count', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('accesslog', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accesslog_month'), ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('accesslog', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accesslog_month'))
    op.drop_table('accesslog')
