"""Guarded reopen: the pending reopen one operator requested, shared by every replica.

One operator could reopen the kill switch alone. A reopen is now a request that a second
operator confirms within a window, possibly on another replica, so the request lives in the
database; a close cancels it in the close's own transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kill_switch_reopens",
        sa.Column("reopen_id", sa.String(32), primary_key=True),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("requested_at_us", sa.BigInteger, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("switch_version", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("resolved_by", sa.String(128), nullable=False, server_default=""),
        sa.Column("resolved_at_us", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_kill_switch_reopens_state", "kill_switch_reopens", ["state"])


def downgrade() -> None:
    op.drop_index("ix_kill_switch_reopens_state", table_name="kill_switch_reopens")
    op.drop_table("kill_switch_reopens")
