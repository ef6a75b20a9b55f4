"""outbox delivery: rendered bodies, leases, registry, suppressions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:36:35.393803
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sangsaeng.types


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mailbody',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('lang', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('html', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest')
    )
    op.create_table('mailsuppression',
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reply', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('address')
    )
    op.create_table('registeredcompany',
    sa.Column('brn', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('opted_in', sa.Boolean(), nullable=False),
    sa.Column('unsubscribe_token', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('updated_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('brn'),
    sa.UniqueConstraint('unsubscribe_token')
    )
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resend', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('body_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('unsubscribe', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sangsaeng.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_reply', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sent_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_outbox_notice', type_='unique')
        batch_op.create_unique_constraint('uq_outbox_notice', ['round_id', 'kind', 'subject_type', 'subject_id', 'recipient', 'resend'])
        batch_op.drop_index('ix_outbox_state')
        batch_op.create_index('ix_outbox_due', ['state', 'round_id', 'next_attempt_at'],
                              unique=False)
        batch_op.create_index('ix_outbox_claim', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxmessage_body_id'), ['body_id'], unique=False)
        batch_op.create_unique_constraint('uq_outbox_message_id', ['message_id'])
        batch_op.create_foreign_key('fk_outbox_body', 'mailbody', ['body_id'], ['id'])
    # rows owed before this release: due now (they are rendered when first claimed)
    op.execute("UPDATE outboxmessage SET next_attempt_at = created_at WHERE next_attempt_at IS NULL")



def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_constraint('fk_outbox_body', type_='foreignkey')
        batch_op.drop_constraint('uq_outbox_message_id', type_='unique')
        batch_op.drop_index(batch_op.f('ix_outboxmessage_body_id'))
        batch_op.drop_index('ix_outbox_claim')
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index('ix_outbox_state', ['state'], unique=False)
        batch_op.drop_constraint('uq_outbox_notice', type_='unique')
        batch_op.create_unique_constraint('uq_outbox_notice', ['round_id', 'kind', 'subject_type', 'subject_id', 'recipient'])
        batch_op.drop_column('sent_at')
        batch_op.drop_column('last_reply')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('unsubscribe')
        batch_op.drop_column('message_id')
        batch_op.drop_column('body_id')
        batch_op.drop_column('resend')

    op.drop_table('registeredcompany')
    op.drop_table('mailsuppression')
    op.drop_table('mailbody')
