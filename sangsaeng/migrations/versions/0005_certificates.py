"""certificates, versions, cancellations; mail attachments

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 06:51:31.181071

K1–K5: certificates (the current version), every version issued (reissue, K4) and the
cancellations of selected projects (K5/K5a). A rendered mail body can carry attachments (the
certificate's PDF on `certificate.issued`); bodies stored before have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sangsaeng.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cancellation',
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('ground', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('recorded_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], ),
    sa.PrimaryKeyConstraint('application_id')
    )
    with op.batch_alter_table('cancellation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cancellation_round_id'), ['round_id'], unique=False)

    op.create_table('certificate',
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('round_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('brn', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('issue_year', sa.Integer(), nullable=False),
    sa.Column('track_code', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('lead_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('representative', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('product_code', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('product_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('partners', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('cancelled_on', sa.Date(), nullable=True),
    sa.Column('pdf_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], ),
    sa.PrimaryKeyConstraint('number'),
    sa.UniqueConstraint('application_id', 'brn', name='uq_certificate_lead'),
    sa.UniqueConstraint('issue_year', 'track_code', 'seq', name='uq_certificate_seq')
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_brn'), ['brn'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_valid_to'), ['valid_to'], unique=False)

    op.create_table('certificateversion',
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('change', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('pdf_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['number'], ['certificate.number'], ),
    sa.PrimaryKeyConstraint('number', 'version')
    )
    with op.batch_alter_table('mailbody', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))



def downgrade() -> None:
    with op.batch_alter_table('mailbody', schema=None) as batch_op:
        batch_op.drop_column('attachments')

    op.drop_table('certificateversion')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_valid_to'))
        batch_op.drop_index(batch_op.f('ix_certificate_round_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_brn'))
        batch_op.drop_index(batch_op.f('ix_certificate_application_id'))

    op.drop_table('certificate')
    with op.batch_alter_table('cancellation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cancellation_round_id'))

    op.drop_table('cancellation')
