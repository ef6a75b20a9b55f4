"""files every worker can reach: stored files and kept uploads (issue 24 item 4)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 01:00:00

Certificate PDFs and a round's uploaded files in the program database, named by their sha256
(sangsaeng/blobs.py): a worker needs only the databases; `<var>/` is a cache.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sangsaeng.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('storedfile',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('keptupload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('created_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'name', name='uq_keptupload_name')
    )
    with op.batch_alter_table('keptupload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_keptupload_round_id'), ['round_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('keptupload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_keptupload_round_id'))
    op.drop_table('keptupload')
    op.drop_table('storedfile')
