"""Scoped stops: a stop per account, upstream principal or strategy tag, shared by replicas.

The kill switch stops everything; an incident often needs less: the client that started the
flow, one account, one strategy. Each scope's state lives in one row (the account as its keyed
hash, never in clear), with the pending reopen a second operator confirms. Previews carry the
strategy tag in a column, so that a strategy's close can revoke its approvals in one statement.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoped_stops",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("scope_key", sa.String(128), primary_key=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("changed_at_us", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("reopen_by", sa.String(128), nullable=False, server_default=""),
        sa.Column("reopen_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("reopen_request_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("reopen_expires_at_us", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_scoped_stops_state", "scoped_stops", ["state"])
    op.add_column(
        "previews", sa.Column("strategy", sa.String(64), nullable=False, server_default="")
    )


def downgrade() -> None:
    with op.batch_alter_table("previews") as batch:
        batch.drop_column("strategy")
    op.drop_index("ix_scoped_stops_state", table_name="scoped_stops")
    op.drop_table("scoped_stops")
