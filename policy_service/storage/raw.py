# ruff: noqa: S608  (every statement here is built once from constant table and column names)
"""The hot path's SQL on the driver's cursor, inside SQLAlchemy's connection and transaction.

A Core execution costs tens of microseconds of Python (cache lookup, parameter and result
processing) for a statement SQLite answers in a few; a decision runs about twenty of them.
Here each statement is a fixed SQL string per dialect and runs on the DB-API cursor of the
SQLAlchemy connection the caller holds, so the transaction (BEGIN IMMEDIATE on SQLite, the
driver's implicit one on PostgreSQL), commit and rollback stay SQLAlchemy's. A driver error
goes through SQLAlchemy's own handler: it is wrapped as DBAPIError (IntegrityError, ...) and a
disconnect invalidates the connection, exactly as for a Core execution. Values are plain
strings and integers (no type processing in these tables), so rows come back as named tuples.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection
from sqlalchemy.exc import NoResultFound

_NAMED: Final = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class Query:
    """One statement in the driver's dialect, and the row type of its result (if any)."""

    __slots__ = ("autocommit", "row", "sql")

    def __init__(self, dialect: str, text: str, columns: str = ""):
        if dialect == "postgresql":
            text = _NAMED.sub(r"%(\1)s", text)
        else:
            # SQLite's BEGIN IMMEDIATE already holds the database lock (as SQLAlchemy, which
            # drops FOR UPDATE on SQLite).
            text = text.replace(" FOR UPDATE", "")
        self.sql = text
        # A lone SELECT on SQLite outside a transaction is its own read transaction (the
        # driver runs in autocommit): a fresh, consistent snapshot without BEGIN and ROLLBACK.
        self.autocommit = dialect == "sqlite" and text.startswith("SELECT")
        self.row: Any = namedtuple("Row", columns) if columns else None  # type: ignore[misc]


def run(conn: Connection, query: Query, params: Any = None) -> Any:
    """Execute QUERY on CONN's driver cursor; returns the cursor (the caller reads it)."""
    if not conn.in_transaction() and not query.autocommit:
        conn.begin()  # as a Core execution would autobegin (and the begin event would fire)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(query.sql, params if params is not None else {})
    except Exception as exc:
        cursor.close()
        conn._handle_dbapi_exception(exc, query.sql, params, None, None)
    return cursor


def execute_plain(conn: Connection, sql: str) -> None:
    """A statement without parameters or result (BEGIN), on the driver; errors as run()."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
    except Exception as exc:
        cursor.close()
        conn._handle_dbapi_exception(exc, sql, None, None, None)
    cursor.close()


def one(conn: Connection, query: Query, params: Any = None) -> Any:
    """The single row; no row is an error, as Result.one()."""
    row = first(conn, query, params)
    if row is None:
        raise NoResultFound("No row was found when one was required")
    return row


def first(conn: Connection, query: Query, params: Any = None) -> Any:
    cursor = run(conn, query, params)
    try:
        raw = cursor.fetchone()
    finally:
        cursor.close()
    return None if raw is None else query.row._make(raw)


def all_rows(conn: Connection, query: Query, params: Any = None) -> Sequence[Any]:
    cursor = run(conn, query, params)
    try:
        raws = cursor.fetchall()
    finally:
        cursor.close()
    return [query.row._make(r) for r in raws]


def rowcount(conn: Connection, query: Query, params: Any = None) -> int:
    cursor = run(conn, query, params)
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


_SWITCH_COLS: Final = "state reason changed_by changed_at_us version"
_RECORD_COLS: Final = (
    "idempotency_key request_hash kind account_hash status approval_ids notional new_orders "
    "day created_at_us updated_at_us outcome"
)
_PREVIEW_COLS: Final = (
    "preview_id kind account_id group_id created_by created_at_us expires_at_us body"
)
_APPROVAL_COLS: Final = (
    "approval_id preview_id approved_by created_at_us expires_at_us reserved_key consumed_at_us"
)
_EVENT_COLS: Final = (
    "event_id occurred_at_us method request_id principal account_id_hash preview_id "
    "approval_id idempotency_key broker_order_id kill_switch_state risk_policy_id outcome "
    "status_code reason gate_step detail prev_hash hash"
).split()
_INSERT_RECORD_COLS: Final = (
    "idempotency_key request_hash kind account_hash status approval_ids notional new_orders "
    "day created_at_us updated_at_us"
).split()


def _cols(names: str) -> str:
    return ", ".join(names.split())


def _insert(table: str, columns: list[str]) -> str:
    names = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


class Statements:
    """The hot path's statements for one dialect."""

    def __init__(self, dialect: str):
        self.dialect = dialect

        def q(text: str, columns: str = "") -> Query:
            return Query(dialect, text, columns)

        self.switch = q(f"SELECT {_cols(_SWITCH_COLS)} FROM kill_switch WHERE id = 1", _SWITCH_COLS)
        self.switch_count = q("SELECT count(*) AS n FROM kill_switch", "n")
        record = (
            f"SELECT {_cols(_RECORD_COLS)} FROM idempotency_records WHERE idempotency_key = :b_key"
        )
        self.record = q(record, _RECORD_COLS)
        self.record_locked = q(record + " FOR UPDATE", _RECORD_COLS)
        self.insert_record = q(_insert("idempotency_records", _INSERT_RECORD_COLS))
        self.set_outcome = q(
            "UPDATE idempotency_records SET status = :b_status, updated_at_us = :b_now, "
            "outcome = :b_outcome WHERE idempotency_key = :b_key"
        )
        self.preview_by_id = q(
            f"SELECT {_cols(_PREVIEW_COLS)} FROM previews WHERE preview_id = :b_id", _PREVIEW_COLS
        )
        self.approval_by_id = q(
            f"SELECT {_cols(_APPROVAL_COLS)} FROM approvals WHERE approval_id = :b_id",
            _APPROVAL_COLS,
        )
        self.reserve_approval = q(
            "UPDATE approvals SET reserved_key = :b_key WHERE approval_id = :b_id "
            "AND reserved_key IS NULL AND consumed_at_us IS NULL AND expires_at_us > :b_now"
        )
        self.consume_approval = q(
            "UPDATE approvals SET consumed_at_us = :b_now "
            "WHERE approval_id = :b_id AND reserved_key = :b_key"
        )
        usage_where = "account_hash = :b_account AND day = :b_day"
        self.ensure_usage = q(
            "INSERT INTO account_usage (account_hash, day, daily_notional) "
            "VALUES (:b_account, :b_day, '0') ON CONFLICT DO NOTHING"
        )
        self.usage_row_locked = q(
            f"SELECT daily_notional FROM account_usage WHERE {usage_where} FOR UPDATE",
            "daily_notional",
        )
        self.set_usage = q(
            f"UPDATE account_usage SET daily_notional = :b_notional WHERE {usage_where}"
        )
        self.usage_all = q(
            "SELECT "
            "(SELECT count(*) FROM idempotency_records WHERE account_hash = :b_account "
            "AND created_at_us > :b_since AND idempotency_key != :b_exclude) AS recent, "
            "(SELECT coalesce(sum(new_orders), 0) FROM idempotency_records "
            "WHERE account_hash = :b_account AND (status = 'PENDING' OR status = 'UNKNOWN') "
            "AND idempotency_key != :b_exclude) AS pending_new, "
            "(SELECT count(*) FROM open_orders WHERE account_hash = :b_account) AS opened, "
            f"(SELECT daily_notional FROM account_usage WHERE {usage_where}) AS daily",
            "recent pending_new opened daily",
        )
        self.insert_open = q(
            _insert(
                "open_orders",
                ["account_hash", "broker_order_id", "idempotency_key", "opened_at_us"],
            )
        )
        self.head_locked = q(
            "SELECT last_event_id, last_hash FROM audit_head WHERE id = 1 FOR UPDATE",
            "last_event_id last_hash",
        )
        self.insert_event = q(_insert("audit_events", _EVENT_COLS))
        self.move_head = q(
            "UPDATE audit_head SET last_event_id = :b_event_id, last_hash = :b_hash WHERE id = 1"
        )
        # PostgreSQL: the event row and the head move in one round trip (a data-modifying CTE
        # always runs). None on SQLite, which has no such CTE and no round trips to save.
        self.append_event: Query | None = (
            q(
                f"WITH ev AS ({_insert('audit_events', _EVENT_COLS)}) "
                "UPDATE audit_head SET last_event_id = :event_id, last_hash = :hash WHERE id = 1"
            )
            if dialect == "postgresql"
            else None
        )


_BY_DIALECT: Final = {name: Statements(name) for name in ("sqlite", "postgresql")}


def statements(conn: Connection) -> Statements:
    return _BY_DIALECT[conn.dialect.name]
