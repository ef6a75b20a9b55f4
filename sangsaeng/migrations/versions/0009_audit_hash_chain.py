"""audit rows chained by hash (issue 26 item 3)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:40:00

Existing rows get their chain here, per round in id order, as `journal.record` extends it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sangsaeng.domain import audit
from sangsaeng.types import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROWS = sa.table(
    "auditevent", sa.column("id", sa.Integer), sa.column("at", UTCDateTime()),
    *(sa.column(name, sa.String) for name in (
        "actor", "round_id", "entity", "entity_id", "action", "from_state", "to_state", "reason",
        "rule", "hash")),
    sa.column("data", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table("auditevent") as batch_op:
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    previous: dict[str | None, str] = {}
    for row in connection.execute(sa.select(ROWS).order_by(ROWS.c.id)).mappings():
        value = audit.link(previous.get(row["round_id"], audit.GENESIS), row)
        previous[row["round_id"]] = value
        connection.execute(sa.update(ROWS).where(ROWS.c.id == row["id"]).values(hash=value))


def downgrade() -> None:
    with op.batch_alter_table("auditevent") as batch_op:
        batch_op.drop_column("hash")
