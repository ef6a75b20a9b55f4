"""support events (M4 invitations)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:51:38.224481

M4: the events (비대면 전시·상담회, 나라장터 엑스포, 조달 교육) certified companies are invited to;
the invitations themselves are outbox rows, one per (event, company).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sangsaeng.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('supportevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sangsaeng.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'title', 'held_on', name='uq_support_event')
    )


def downgrade() -> None:
    op.drop_table('supportevent')
