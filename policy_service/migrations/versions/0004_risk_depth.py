"""Pre-trade risk at depth (issue 19): what each write can add, fills, stops, acknowledgements.

idempotency_records gains the writer's principal, the instrument and quantities a write can
add to a position, a fingerprint for the duplicate check and the broker order a modify changes;
account_usage counts the day's order messages (IBKR's order efficiency ratio). ended_orders
remembers for a while when livegate's orders stopped working, so a position read before then
is not trusted to show their fills. fills records the broker's executions with the principal
of the order; principal_stops holds the runaway stops; checklist_acknowledgements the
paper-to-live acknowledgements, each with who, when, policy digest and version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_RECORD_COLUMNS = (
    sa.Column("principal", sa.String(128), nullable=False, server_default=""),
    sa.Column("con_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("buy_qty", sa.String(40), nullable=False, server_default="0"),
    sa.Column("sell_qty", sa.String(40), nullable=False, server_default="0"),
    sa.Column("fingerprint", sa.String(32), nullable=False, server_default=""),
    sa.Column("modifies_order", sa.BigInteger, nullable=False, server_default="0"),
)


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite too): a batch copy of the table would drop its triggers (0003).
    for column in _RECORD_COLUMNS:
        op.add_column("idempotency_records", column)
    # Neither index leads with account_hash, so the planner never takes them for the limit
    # checks' (account_hash, status) reads; the fingerprint hashes the account in already.
    op.create_index("ix_idem_fingerprint", "idempotency_records", ["fingerprint", "created_at_us"])
    op.create_index("ix_idem_modifies", "idempotency_records", ["modifies_order"])
    op.add_column(
        "account_usage", sa.Column("messages", sa.BigInteger, nullable=False, server_default="0")
    )
    op.create_table(
        "ended_orders",
        sa.Column("account_hash", sa.String(64), primary_key=True),
        sa.Column("broker_order_id", sa.BigInteger, primary_key=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("ended_at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ended_time", "ended_orders", ["account_hash", "ended_at_us"])
    op.create_table(
        "fills",
        sa.Column("exec_id", sa.String(64), primary_key=True),
        sa.Column("account_hash", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("broker_order_id", sa.BigInteger, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("principal", sa.String(128), nullable=False),
        sa.Column("con_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(4), nullable=False),
        sa.Column("quantity", sa.String(40), nullable=False),
        sa.Column("price", sa.String(40), nullable=False),
        sa.Column("time_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_fills_time", "fills", ["account_hash", "time_us"])
    op.create_index("ix_fills_day", "fills", ["account_hash", "day", "broker_order_id"])
    op.create_table(
        "principal_stops",
        sa.Column("principal", sa.String(128), primary_key=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("stopped_at_us", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("reset_by", sa.String(128), nullable=False, server_default=""),
        sa.Column("reset_at_us", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "checklist_acknowledgements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=False),
        sa.Column("acknowledged_at_us", sa.BigInteger, nullable=False),
        sa.Column("risk_policy_id", sa.String(128), nullable=False),
        sa.Column("risk_policy_digest", sa.String(64), nullable=False),
        sa.Column("livegate_version", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("audit_event_id", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("checklist_acknowledgements", "principal_stops", "fills", "ended_orders"):
        op.drop_table(table)
    op.drop_column("account_usage", "messages")
    op.drop_index("ix_idem_modifies", table_name="idempotency_records")
    op.drop_index("ix_idem_fingerprint", table_name="idempotency_records")
    for column in reversed(_RECORD_COLUMNS):
        op.drop_column("idempotency_records", column.name)
