"""outbox: claim token (fences a stalled sender's lease)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00.000000

A row being sent carries the token of the sender that holds its lease; renewals and outcome
writes are conditional on it. Rows left `sending` by an older release have no token: they are
taken again when their lease ends, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('claim_token')
