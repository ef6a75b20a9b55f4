"""listing steps and follow-ups, cost claims

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 07:46:03.496439

M1: the listing steps of each certified product and the reminders / escalations sent for
them (M1b, M1c); M2: cost-support claims with their decisions, in the order decided.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sangsaeng.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('costclaim',
    sa.Column('claim_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('amount_krw', sa.BigInteger(), nullable=False),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('approved_krw', sa.BigInteger(), nullable=False),
    sa.Column('remaining_krw', sa.BigInteger(), nullable=True),
    sa.Column('reasons', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('decided_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], ),
    sa.PrimaryKeyConstraint('claim_id'),
    sa.UniqueConstraint('round_id', 'seq', name='uq_costclaim_seq')
    )
    with op.batch_alter_table('costclaim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_costclaim_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_costclaim_round_id'), ['round_id'], unique=False)

    op.create_table('listingfollowup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('on_day', sa.Date(), nullable=False),
    sa.Column('days_in_step', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['number'], ['certificate.number'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number', 'step', 'kind', 'on_day', name='uq_listing_follow_up')
    )
    with op.batch_alter_table('listingfollowup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listingfollowup_number'), ['number'], unique=False)

    op.create_table('listingstep',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('recorded_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['number'], ['certificate.number'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number', 'step', name='uq_listing_step')
    )
    with op.batch_alter_table('listingstep', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listingstep_number'), ['number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('listingstep', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listingstep_number'))

    op.drop_table('listingstep')
    with op.batch_alter_table('listingfollowup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listingfollowup_number'))

    op.drop_table('listingfollowup')
    with op.batch_alter_table('costclaim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_costclaim_round_id'))
        batch_op.drop_index(batch_op.f('ix_costclaim_application_id'))

    op.drop_table('costclaim')
