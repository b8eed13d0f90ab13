"""The hot path's SQL, built once: each decision only binds values (no per-call construction).

Building a Core statement and its cache key costs more Python than running it; a statement
object built once keeps its cache key memoised, so every execution is a compiled-cache hit.
Bind names carry a ``b_`` prefix: SQLAlchemy reserves the column names for SET/VALUES.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from policy_service.storage.tables import (
    account_usage,
    approvals,
    audit_events,
    audit_head,
    idempotency_records,
    kill_switch,
    open_orders,
    previews,
)

MINUTE_US: Final = 60_000_000

SWITCH: Final = select(kill_switch).where(kill_switch.c.id == 1)
SWITCH_COUNT: Final = select(func.count()).select_from(kill_switch)

_rec = idempotency_records
RECORD: Final = select(_rec).where(_rec.c.idempotency_key == bindparam("b_key"))
RECORD_LOCKED: Final = RECORD.with_for_update()
INSERT_RECORD: Final = insert(_rec)
SET_OUTCOME: Final = (
    update(_rec)
    .where(_rec.c.idempotency_key == bindparam("b_key"))
    .values(
        status=bindparam("b_status"),
        outcome=bindparam("b_outcome"),
        updated_at_us=bindparam("b_now"),
    )
)

PREVIEWS_BY_ID: Final = select(previews).where(
    previews.c.preview_id.in_(bindparam("b_ids", expanding=True))
)
APPROVALS_BY_ID: Final = select(approvals).where(
    approvals.c.approval_id.in_(bindparam("b_ids", expanding=True))
)
RESERVE_APPROVAL: Final = (
    update(approvals)
    .where(
        approvals.c.approval_id == bindparam("b_id"),
        approvals.c.reserved_key.is_(None),
        approvals.c.consumed_at_us.is_(None),
        approvals.c.expires_at_us > bindparam("b_now"),
    )
    .values(reserved_key=bindparam("b_key"))
)
CONSUME_APPROVALS: Final = (
    update(approvals)
    .where(
        approvals.c.approval_id.in_(bindparam("b_ids", expanding=True)),
        approvals.c.reserved_key == bindparam("b_key"),
    )
    .values(consumed_at_us=bindparam("b_now"))
)

_usage_where = (account_usage.c.account_hash == bindparam("b_account")) & (
    account_usage.c.day == bindparam("b_day")
)
USAGE_ROW_LOCKED: Final = (
    select(account_usage.c.daily_notional).where(_usage_where).with_for_update()
)
SET_USAGE: Final = (
    update(account_usage).where(_usage_where).values(daily_notional=bindparam("b_notional"))
)
_ensure_values = {
    "account_hash": bindparam("b_account"),
    "day": bindparam("b_day"),
    "daily_notional": "0",
}
ENSURE_USAGE: Final = {
    "postgresql": postgresql.insert(account_usage).values(_ensure_values).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(account_usage).values(_ensure_values).on_conflict_do_nothing(),
}
INSERT_OPEN: Final = insert(open_orders)

HEAD_LOCKED: Final = select(audit_head).where(audit_head.c.id == 1).with_for_update()
INSERT_EVENT: Final = insert(audit_events)
MOVE_HEAD: Final = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(last_event_id=bindparam("b_event_id"), last_hash=bindparam("b_hash"))
)
