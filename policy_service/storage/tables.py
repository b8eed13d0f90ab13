"""Table definitions the store queries; the Alembic migrations create the same schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Timestamps are integer microseconds since the epoch: the same on SQLite and PostgreSQL, and
# hashed into audit events without any timezone ambiguity.
previews = Table(
    "previews",
    metadata,
    Column("preview_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("account_id", String(32), nullable=False),
    Column("group_id", String(64), nullable=False, default=""),
    Column("created_by", String(128), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    # Migration 0008: the caller's strategy tag ("" for none), for a strategy stop's revocation.
    Column("strategy", String(64), nullable=False, server_default=""),
    Index("ix_previews_group", "group_id"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("approval_id", String(64), primary_key=True),
    Column("preview_id", String(64), nullable=False),
    Column("approved_by", String(128), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    # Set in the pending transaction; cleared again if the broker refuses.
    Column("reserved_key", String(64), nullable=True),
    Column("consumed_at_us", BigInteger, nullable=True),
    # Set by a kill-switch close, in the close's transaction (migration 0004).
    Column("revoked_at_us", BigInteger, nullable=True),
    Index("ix_approvals_preview", "preview_id"),
    # A close revokes the unexpired approvals: a short range of this index, not the table.
    Index("ix_approvals_expires", "expires_at_us"),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("idempotency_key", String(64), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("account_hash", String(64), nullable=False),
    # PENDING (writer call in flight), UNKNOWN (ambiguous answer), SUCCEEDED, REFUSED, PARTIAL
    # (part of a bracket reached the broker: closed, approvals consumed).
    Column("status", String(16), nullable=False),
    Column("approval_ids", Text, nullable=False, default="[]"),
    Column("notional", String(40), nullable=False, default="0"),
    Column("new_orders", Integer, nullable=False, default=0),
    Column("day", String(10), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    Column("outcome", Text, nullable=True),
    # Migration 0004: who wrote it, what it can add to its instrument, its duplicate
    # fingerprint, the broker order a modify changes.
    Column("principal", String(128), nullable=False, server_default=""),
    Column("con_id", BigInteger, nullable=False, server_default="0"),
    Column("buy_qty", String(40), nullable=False, server_default="0"),
    Column("sell_qty", String(40), nullable=False, server_default="0"),
    Column("fingerprint", String(32), nullable=False, server_default=""),
    Column("modifies_order", BigInteger, nullable=False, server_default="0"),
    Index("ix_idem_account_time", "account_hash", "created_at_us"),
    # The open-orders limit sums the account's PENDING/UNKNOWN records (migration 0002).
    Index("ix_idem_account_status", "account_hash", "status"),
    Index("ix_idem_fingerprint", "account_hash", "fingerprint", "created_at_us"),
    Index("ix_idem_modifies", "account_hash", "modifies_order"),
)

# When livegate's orders stopped working (cancelled through the gate, or gone from the broker's
# open orders): kept an hour, so a position read before then is not trusted with their fills.
ended_orders = Table(
    "ended_orders",
    metadata,
    Column("account_hash", String(64), primary_key=True),
    Column("broker_order_id", BigInteger, primary_key=True),
    Column("idempotency_key", String(64), nullable=False),
    Column("ended_at_us", BigInteger, nullable=False),
    Index("ix_ended_time", "account_hash", "ended_at_us"),
)

fills = Table(
    "fills",
    metadata,
    Column("exec_id", String(64), primary_key=True),
    Column("account_hash", String(64), nullable=False),
    Column("day", String(10), nullable=False),
    Column("broker_order_id", BigInteger, nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("principal", String(128), nullable=False),
    Column("con_id", BigInteger, nullable=False),
    Column("action", String(4), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("price", String(40), nullable=False),
    Column("time_us", BigInteger, nullable=False),
    # Decimal text; "" until the broker's commission report arrived (it comes after).
    Column("commission", String(40), nullable=False, default="", server_default=""),
    Column("cum_quantity", String(40), nullable=False, default="", server_default=""),
    Index("ix_fills_time", "account_hash", "time_us"),
    Index("ix_fills_day", "account_hash", "day", "broker_order_id"),
)

principal_stops = Table(
    "principal_stops",
    metadata,
    Column("principal", String(128), primary_key=True),
    Column("state", String(8), nullable=False),  # STOPPED or RESET
    Column("reason", String(64), nullable=False),
    Column("stopped_at_us", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
    Column("reset_by", String(128), nullable=False, server_default=""),
    Column("reset_at_us", BigInteger, nullable=False, server_default="0"),
)

checklist_acknowledgements = Table(
    "checklist_acknowledgements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("acknowledged_by", String(128), nullable=False),
    Column("acknowledged_at_us", BigInteger, nullable=False),
    Column("risk_policy_id", String(128), nullable=False),
    Column("risk_policy_digest", String(64), nullable=False),
    Column("livegate_version", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("audit_event_id", BigInteger, nullable=False),
)

# The last status the policy recorded (and audited) per livegate order: a change is an event.
order_statuses = Table(
    "order_statuses",
    metadata,
    Column("account_hash", String(64), primary_key=True),
    Column("broker_order_id", BigInteger, primary_key=True),
    Column("idempotency_key", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("filled", String(40), nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

open_orders = Table(
    "open_orders",
    metadata,
    Column("account_hash", String(64), primary_key=True),
    Column("broker_order_id", BigInteger, primary_key=True),
    Column("idempotency_key", String(64), nullable=False),
    Column("opened_at_us", BigInteger, nullable=False),
    # What has filled of the order (Decimal text), and when the policy recorded it (0: never).
    Column("filled", String(40), nullable=False, default="0", server_default="0"),
    Column("filled_at_us", BigInteger, nullable=False, default=0, server_default="0"),
)

# Kept by triggers (migration 0003) in the transactions that change what they count, so a
# limit check reads one row instead of counting: open_orders rows per account, and
# idempotency records per account and second of created_at_us (the rate window reads <= 61).
open_order_counts = Table(
    "open_order_counts",
    metadata,
    Column("account_hash", String(64), primary_key=True),
    Column("n", BigInteger, nullable=False),
)

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("account_hash", String(64), primary_key=True),
    Column("epoch_s", BigInteger, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# One row per account and day: the lock that serialises an account's limit checks across
# replicas, and its running daily notional.
account_usage = Table(
    "account_usage",
    metadata,
    Column("account_hash", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("daily_notional", String(40), nullable=False, default="0"),
    # The day's order messages (submits, modifies, cancels; a bracket counts three).
    Column("messages", BigInteger, nullable=False, server_default="0"),
)

kill_switch = Table(
    "kill_switch",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at_us", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
)

kill_switch_history = Table(
    "kill_switch_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", BigInteger, nullable=False),
    Column("state", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at_us", BigInteger, nullable=False),
    Column("request_id", String(64), nullable=False),
)

# A reopen one operator asked for, until a second confirms it, a close cancels it, it expires
# or a newer request supersedes it. Shared by every replica: the confirmation may come to another.
kill_switch_reopens = Table(
    "kill_switch_reopens",
    metadata,
    Column("reopen_id", String(32), primary_key=True),
    Column("requested_by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("requested_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("switch_version", BigInteger, nullable=False),
    # PENDING, CONFIRMED, CANCELLED (by a close), SUPERSEDED (by a newer request)
    Column("state", String(16), nullable=False),
    Column("resolved_by", String(128), nullable=False, server_default=""),
    Column("resolved_at_us", BigInteger, nullable=True),
    # Migration 0012: the state a confirmation applies, OPEN or REDUCING (both loosenings).
    Column("target_state", String(16), nullable=False, server_default="OPEN"),
    Index("ix_kill_switch_reopens_state", "state"),
)

# Migration 0008: one row per scope an operator ever stopped (kind ACCOUNT, PRINCIPAL or
# STRATEGY; an account by its keyed hash). CLOSED refuses the scope's writes at gate step 6,
# REDUCING (0011) lets only cancels and position-reducing orders through;
# reopen_* hold a reopen one operator asked for until a second confirms it.
scoped_stops = Table(
    "scoped_stops",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("scope_key", String(128), primary_key=True),
    Column("state", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at_us", BigInteger, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("reopen_by", String(128), nullable=False, server_default=""),
    Column("reopen_reason", Text, nullable=False, server_default=""),
    Column("reopen_request_id", String(64), nullable=False, server_default=""),
    Column("reopen_expires_at_us", BigInteger, nullable=False, server_default="0"),
    # Migration 0011: the state the pending request loosens to (OPEN or REDUCING; "" = OPEN).
    Column("reopen_target", String(8), nullable=False, server_default=""),
    Index("ix_scoped_stops_state", "state"),
)

# Migration 0010: a dead-man lease per upstream principal that opted in (RenewLease). A lapsed
# lease is claimed by one replica (claimed_by/claimed_at_us, compare-and-set), which closes the
# principal's scope and cancels its orders, then sets stopped_at_us.
principal_leases = Table(
    "principal_leases",
    metadata,
    Column("principal", String(128), primary_key=True),
    Column("ttl_s", Float, nullable=False),
    Column("started_at_us", BigInteger, nullable=False),
    Column("renewed_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("released_at_us", BigInteger, nullable=False, server_default="0"),
    Column("claimed_by", String(128), nullable=False, server_default=""),
    Column("claimed_at_us", BigInteger, nullable=False, server_default="0"),
    Column("scope_closed_at_us", BigInteger, nullable=False, server_default="0"),
    Column("stopped_at_us", BigInteger, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lapse_request_id", String(64), nullable=False, server_default=""),
    Index("ix_principal_leases_watch", "stopped_at_us", "expires_at_us"),
)

risk_policies = Table(
    "risk_policies",
    metadata,
    Column("policy_id", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("loaded_at_us", BigInteger, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("occurred_at_us", BigInteger, nullable=False),
    Column("method", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("principal", String(128), nullable=False),
    Column("account_id_hash", String(64), nullable=False),
    Column("preview_id", String(200), nullable=False),
    Column("approval_id", String(200), nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("broker_order_id", BigInteger, nullable=False),
    Column("kill_switch_state", String(8), nullable=False),
    Column("risk_policy_id", String(128), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", String(32), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("gate_step", Integer, nullable=False),
    Column("detail", Text, nullable=False),
    # The previous event's link and this event's: HMAC-SHA256 under the key KEY_ID names
    # (plain sha256 for the events before the keyed chain, whose key_id is "").
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("key_id", String(32), nullable=False, server_default=""),
    Index("ix_audit_time", "occurred_at_us"),
    Index("ix_audit_request", "request_id"),
    Index("ix_audit_key", "idempotency_key"),
)

# Single row: the chain head. Appends lock it, so event ids are gap-free across replicas. It
# is a convenience, not evidence: whoever can write the database can move it, which is what
# the keyed links, the recorded purges and the anchors outside the database are for.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("last_event_id", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("purged_through_event_id", BigInteger, nullable=False),
    Column("purged_through_hash", String(64), nullable=False),
    # The key of the newest event: an append under another key starts with a rotation event.
    Column("key_id", String(32), nullable=False, server_default=""),
)

# One row per purge, written only by the purge path (on PostgreSQL the purge function): the
# database triggers let audit events be deleted up to the newest recorded purge, no further.
audit_purges = Table(
    "audit_purges",
    metadata,
    Column("purge_id", Integer, primary_key=True, autoincrement=True),
    Column("through_event_id", BigInteger, nullable=False),
    Column("through_hash", String(64), nullable=False),
    Column("export_id", String(64), nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("purged_at_us", BigInteger, nullable=False),
)

audit_exports = Table(
    "audit_exports",
    metadata,
    Column("export_id", String(64), primary_key=True),
    Column("created_at_us", BigInteger, nullable=False),
    Column("path", Text, nullable=False),
    Column("manifest_path", Text, nullable=False),
    Column("first_event_id", BigInteger, nullable=False),
    Column("last_event_id", BigInteger, nullable=False),
    Column("event_count", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("verified", Boolean, nullable=False),
    # sha256 of the keyed manifest: what the purge event records and the purge function checks.
    Column("manifest_sha256", String(64), nullable=False, server_default=""),
)
