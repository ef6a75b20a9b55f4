"""evaluations and pending cancellations

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:07:43.797218

M3: performance evaluations (one per application, kind and day held) and the K5
cancellation a failed interim or completion evaluation proposes, until the office decides it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sangsaeng.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('recorded_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id', 'kind', 'held_on', name='uq_evaluation')
    )
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_application_id'), ['application_id'], unique=False)

    op.create_table('pendingcancellation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('ground', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('proposed_on', sa.Date(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('evaluation_id')
    )
    with op.batch_alter_table('pendingcancellation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pendingcancellation_application_id'), ['application_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pendingcancellation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pendingcancellation_application_id'))

    op.drop_table('pendingcancellation')
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_application_id'))

    op.drop_table('evaluation')
