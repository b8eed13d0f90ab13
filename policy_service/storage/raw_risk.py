# ruff: noqa: S608  (every statement here is built once from constant table and column names)
"""The pending transaction's reads for the risk checks at depth, in each dialect (see raw)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection

from policy_service.domain.usage import Duplicate, Exposure, Stop, Usage, UsageQuery
from policy_service.storage import raw
from policy_service.storage.raw import Query

_EXPOSURE_COLS: Final = "idempotency_key con_id buy_qty sell_qty notional filled"
_R: Final = "r.idempotency_key, r.con_id, r.buy_qty, r.sell_qty, r.notional"
_NONE_FILLED: Final = f"{_R}, '0' AS filled"
# A single order's fills lower what it can add once the account state read after they were
# recorded shows them (a bracket's legs share one record: counted whole, as before).
_FILLED: Final = (
    f"{_R}, CASE WHEN r.kind = 'SUBMIT' AND o.filled_at_us > 0 AND o.filled_at_us <= :b_since "
    "THEN o.filled ELSE '0' END AS filled"
)


class RiskStatements:
    def __init__(self, dialect: str):
        def q(text: str, columns: str = "") -> Query:
            return Query(dialect, text, columns)

        self.stop = q(
            "SELECT reason, stopped_at_us FROM principal_stops "
            "WHERE principal = :b_principal AND state = 'STOPPED'",
            "reason stopped_at_us",
        )
        # livegate's orders that can still trade, each an index walk of what is in flight or
        # working, never of the account's history: pending or unknown records; records whose
        # orders work (open_orders) or stopped working after the broker's account state was
        # read (ended_orders); and modifies, by the order they changed, likewise.
        since = "e.account_hash = :b_account AND e.ended_at_us >= :b_since"
        self.exposure = q(
            f"SELECT {_NONE_FILLED} FROM idempotency_records r WHERE r.account_hash = :b_account "
            "AND r.status = 'PENDING' AND r.idempotency_key != :b_exclude "
            f"UNION SELECT {_NONE_FILLED} FROM idempotency_records r "
            "WHERE r.account_hash = :b_account "
            "AND r.status = 'UNKNOWN' AND r.idempotency_key != :b_exclude "
            f"UNION SELECT {_FILLED} FROM idempotency_records r JOIN open_orders o "
            "ON o.idempotency_key = r.idempotency_key WHERE o.account_hash = :b_account "
            f"UNION SELECT {_NONE_FILLED} FROM idempotency_records r JOIN ended_orders e "
            f"ON e.idempotency_key = r.idempotency_key WHERE {since} "
            f"UNION SELECT {_NONE_FILLED} FROM idempotency_records r JOIN open_orders o "
            "ON o.broker_order_id = r.modifies_order AND o.account_hash = r.account_hash "
            "WHERE r.account_hash = :b_account AND r.status = 'SUCCEEDED' "
            f"UNION SELECT {_NONE_FILLED} FROM idempotency_records r JOIN ended_orders e "
            "ON e.broker_order_id = r.modifies_order AND e.account_hash = r.account_hash "
            f"WHERE {since} AND r.status = 'SUCCEEDED'",
            _EXPOSURE_COLS,
        )
        self.duplicate = q(
            "SELECT idempotency_key, created_at_us FROM idempotency_records "
            "WHERE account_hash = :b_account AND fingerprint = :b_fingerprint "
            "AND created_at_us >= :b_since AND idempotency_key != :b_exclude "
            "AND status != 'REFUSED' ORDER BY created_at_us DESC LIMIT 1",
            "idempotency_key created_at_us",
        )
        self.efficiency = q(
            "SELECT coalesce((SELECT messages FROM account_usage WHERE account_hash = :b_account "
            "AND day = :b_day), 0) AS messages, "
            "(SELECT count(DISTINCT broker_order_id) FROM fills WHERE account_hash = :b_account "
            "AND day = :b_day) AS executed",
            "messages executed",
        )


_BY_DIALECT: Final = {name: RiskStatements(name) for name in ("sqlite", "postgresql")}
# The reads' row types (the same in every dialect).
_ROWS: Final = _BY_DIALECT["sqlite"]


def statements(conn: Connection) -> RiskStatements:
    return _BY_DIALECT[conn.dialect.name]


def extra_steps(
    conn: Connection, query: UsageQuery, account_hash: str, day: str, own_key: str
) -> list[raw.Step]:
    """The reads QUERY asks for, in the order with_extras takes their results."""
    r = statements(conn)
    steps: list[raw.Step] = []
    if query.principal:
        steps.append((r.stop, {"b_principal": query.principal}))
    if query.exposure_since_us is not None:
        steps.append(
            (
                r.exposure,
                {"b_account": account_hash, "b_exclude": own_key,
                 "b_since": query.exposure_since_us},
            )
        )  # fmt: skip
    if query.duplicate_since_us:
        steps.append(
            (
                r.duplicate,
                {"b_account": account_hash, "b_fingerprint": query.fingerprint,
                 "b_since": query.duplicate_since_us, "b_exclude": own_key},
            )
        )  # fmt: skip
    if query.efficiency:
        steps.append((r.efficiency, {"b_account": account_hash, "b_day": day}))
    return steps


def with_extras(usage: Usage, query: UsageQuery, cursors: Sequence[Any]) -> Usage:
    """USAGE with the results of extra_steps' reads (their cursors, in order; closed here)."""
    found = iter(cursors)
    changes: dict[str, Any] = {}
    try:
        if query.principal:
            row = raw.first_of(next(found), _ROWS.stop)
            changes["stop"] = None if row is None else Stop(row.reason, int(row.stopped_at_us))
        if query.exposure_since_us is not None:
            cursor = next(found)
            try:
                rows = [_ROWS.exposure.row._make(raw_row) for raw_row in cursor.fetchall()]
            finally:
                cursor.close()
            changes["exposure"] = tuple(
                Exposure.working(x.idempotency_key, int(x.con_id), Decimal(x.buy_qty),
                                 Decimal(x.sell_qty), Decimal(x.notional), Decimal(x.filled))
                for x in rows
            )  # fmt: skip
        if query.duplicate_since_us:
            row = raw.first_of(next(found), _ROWS.duplicate)
            changes["duplicate"] = (
                None if row is None else Duplicate(row.idempotency_key, int(row.created_at_us))
            )
        if query.efficiency:
            row = raw.one_of(next(found), _ROWS.efficiency)
            changes["messages_today"] = int(row.messages)
            changes["executed_today"] = int(row.executed)
    finally:
        for cursor in found:
            cursor.close()
    return dataclasses.replace(usage, **changes)
