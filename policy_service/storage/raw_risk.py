# ruff: noqa: S608  (every statement here is built once from constant table and column names)
"""The pending transaction's reads for the risk checks at depth, in each dialect (see raw)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection

from policy_service.storage.raw import Query

_EXPOSURE_COLS: Final = "idempotency_key con_id buy_qty sell_qty notional"
_R: Final = "r.idempotency_key, r.con_id, r.buy_qty, r.sell_qty, r.notional"


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
            f"SELECT {_R} FROM idempotency_records r WHERE r.account_hash = :b_account "
            "AND r.status = 'PENDING' AND r.idempotency_key != :b_exclude "
            f"UNION SELECT {_R} FROM idempotency_records r WHERE r.account_hash = :b_account "
            "AND r.status = 'UNKNOWN' AND r.idempotency_key != :b_exclude "
            f"UNION SELECT {_R} FROM idempotency_records r JOIN open_orders o "
            "ON o.idempotency_key = r.idempotency_key WHERE o.account_hash = :b_account "
            f"UNION SELECT {_R} FROM idempotency_records r JOIN ended_orders e "
            f"ON e.idempotency_key = r.idempotency_key WHERE {since} "
            f"UNION SELECT {_R} FROM idempotency_records r JOIN open_orders o "
            "ON o.broker_order_id = r.modifies_order AND o.account_hash = r.account_hash "
            "WHERE r.account_hash = :b_account AND r.status = 'SUCCEEDED' "
            f"UNION SELECT {_R} FROM idempotency_records r JOIN ended_orders e "
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


def statements(conn: Connection) -> RiskStatements:
    return _BY_DIALECT[conn.dialect.name]
