"""Order life (issue 18): fills carry their commission; open orders what has filled of them;
the last status recorded per livegate order.

A fill's commission comes from the broker after the execution; it is stored when it arrives,
"" until then, and both are audit events. An open order's filled quantity lowers the notional
the exposure check counts for it, once the policy recorded it (filled_at_us) before the
broker's account state was read.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_FILL_COLUMNS: tuple[sa.Column[Any], ...] = (
    sa.Column("commission", sa.String(40), nullable=False, server_default=""),
    sa.Column("cum_quantity", sa.String(40), nullable=False, server_default=""),
)
_OPEN_COLUMNS: tuple[sa.Column[Any], ...] = (
    sa.Column("filled", sa.String(40), nullable=False, server_default="0"),
    sa.Column("filled_at_us", sa.BigInteger, nullable=False, server_default="0"),
)


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite too): a batch copy of open_orders would drop its triggers (0003).
    for column in _FILL_COLUMNS:
        op.add_column("fills", column)
    for column in _OPEN_COLUMNS:
        op.add_column("open_orders", column)
    op.create_table(
        "order_statuses",
        sa.Column("account_hash", sa.String(64), primary_key=True),
        sa.Column("broker_order_id", sa.BigInteger, primary_key=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("filled", sa.String(40), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("order_statuses")
    for column in reversed(_OPEN_COLUMNS):
        op.drop_column("open_orders", column.name)
    for column in reversed(_FILL_COLUMNS):
        op.drop_column("fills", column.name)
