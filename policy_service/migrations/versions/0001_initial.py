"""Initial schema: previews, approvals, idempotency, usage, kill switch, risk policies, audit."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_S = sa.String
_BI = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "previews",
        sa.Column("preview_id", _S(64), primary_key=True),
        sa.Column("kind", _S(16), nullable=False),
        sa.Column("account_id", _S(32), nullable=False),
        sa.Column("group_id", _S(64), nullable=False),
        sa.Column("created_by", _S(128), nullable=False),
        sa.Column("created_at_us", _BI, nullable=False),
        sa.Column("expires_at_us", _BI, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_previews_group", "previews", ["group_id"])
    op.create_table(
        "approvals",
        sa.Column("approval_id", _S(64), primary_key=True),
        sa.Column("preview_id", _S(64), nullable=False),
        sa.Column("approved_by", _S(128), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at_us", _BI, nullable=False),
        sa.Column("expires_at_us", _BI, nullable=False),
        sa.Column("reserved_key", _S(64), nullable=True),
        sa.Column("consumed_at_us", _BI, nullable=True),
    )
    op.create_index("ix_approvals_preview", "approvals", ["preview_id"])
    op.create_table(
        "idempotency_records",
        sa.Column("idempotency_key", _S(64), primary_key=True),
        sa.Column("request_hash", _S(64), nullable=False),
        sa.Column("kind", _S(16), nullable=False),
        sa.Column("account_hash", _S(64), nullable=False),
        sa.Column("status", _S(16), nullable=False),
        sa.Column("approval_ids", sa.Text, nullable=False),
        sa.Column("notional", _S(40), nullable=False),
        sa.Column("new_orders", sa.Integer, nullable=False),
        sa.Column("day", _S(10), nullable=False),
        sa.Column("created_at_us", _BI, nullable=False),
        sa.Column("updated_at_us", _BI, nullable=False),
        sa.Column("outcome", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_idem_account_time", "idempotency_records", ["account_hash", "created_at_us"]
    )
    op.create_table(
        "open_orders",
        sa.Column("account_hash", _S(64), primary_key=True),
        sa.Column("broker_order_id", _BI, primary_key=True),
        sa.Column("idempotency_key", _S(64), nullable=False),
        sa.Column("opened_at_us", _BI, nullable=False),
    )
    op.create_table(
        "account_usage",
        sa.Column("account_hash", _S(64), primary_key=True),
        sa.Column("day", _S(10), primary_key=True),
        sa.Column("daily_notional", _S(40), nullable=False),
    )
    kill_switch = op.create_table(
        "kill_switch",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("state", _S(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_by", _S(128), nullable=False),
        sa.Column("changed_at_us", _BI, nullable=False),
        sa.Column("version", _BI, nullable=False),
    )
    op.create_table(
        "kill_switch_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", _BI, nullable=False),
        sa.Column("state", _S(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_by", _S(128), nullable=False),
        sa.Column("changed_at_us", _BI, nullable=False),
        sa.Column("request_id", _S(64), nullable=False),
    )
    op.create_table(
        "risk_policies",
        sa.Column("policy_id", _S(128), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("digest", _S(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("loaded_at_us", _BI, nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("event_id", _BI, primary_key=True, autoincrement=False),
        sa.Column("occurred_at_us", _BI, nullable=False),
        sa.Column("method", _S(64), nullable=False),
        sa.Column("request_id", _S(64), nullable=False),
        sa.Column("principal", _S(128), nullable=False),
        sa.Column("account_id_hash", _S(64), nullable=False),
        sa.Column("preview_id", _S(200), nullable=False),
        sa.Column("approval_id", _S(200), nullable=False),
        sa.Column("idempotency_key", _S(64), nullable=False),
        sa.Column("broker_order_id", _BI, nullable=False),
        sa.Column("kill_switch_state", _S(8), nullable=False),
        sa.Column("risk_policy_id", _S(128), nullable=False),
        sa.Column("outcome", _S(16), nullable=False),
        sa.Column("status_code", _S(32), nullable=False),
        sa.Column("reason", _S(64), nullable=False),
        sa.Column("gate_step", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", _S(64), nullable=False),
        sa.Column("hash", _S(64), nullable=False),
    )
    op.create_index("ix_audit_time", "audit_events", ["occurred_at_us"])
    op.create_index("ix_audit_request", "audit_events", ["request_id"])
    op.create_index("ix_audit_key", "audit_events", ["idempotency_key"])
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_event_id", _BI, nullable=False),
        sa.Column("last_hash", _S(64), nullable=False),
        sa.Column("purged_through_event_id", _BI, nullable=False),
        sa.Column("purged_through_hash", _S(64), nullable=False),
    )
    op.create_table(
        "audit_exports",
        sa.Column("export_id", _S(64), primary_key=True),
        sa.Column("created_at_us", _BI, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("manifest_path", sa.Text, nullable=False),
        sa.Column("first_event_id", _BI, nullable=False),
        sa.Column("last_event_id", _BI, nullable=False),
        sa.Column("event_count", _BI, nullable=False),
        sa.Column("sha256", _S(64), nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
    )
    # Fail closed from the first start: the switch is CLOSED until an operator opens it.
    op.bulk_insert(
        kill_switch,
        [
            {
                "id": 1,
                "state": "CLOSED",
                "reason": "initial state",
                "changed_by": "system",
                "changed_at_us": 0,
                "version": 1,
            }
        ],
    )
    op.bulk_insert(
        audit_head,
        [
            {
                "id": 1,
                "last_event_id": 0,
                "last_hash": "",
                "purged_through_event_id": 0,
                "purged_through_hash": "",
            }
        ],
    )


def downgrade() -> None:
    for table in (
        "audit_exports",
        "audit_head",
        "audit_events",
        "risk_policies",
        "kill_switch_history",
        "kill_switch",
        "account_usage",
        "open_orders",
        "idempotency_records",
        "approvals",
        "previews",
    ):
        op.drop_table(table)
