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

On PostgreSQL every round trip costs both processes CPU and, inside a transaction holding a
contended row lock (the account's usage row, the audit head), it lengthens the time every
other decision waits: the lock holder's process must get the GIL back between statements.
So a lone read runs in autocommit (no BEGIN and ROLLBACK round trips), and batch() sends
statements that do not need each other's results in one round trip (libpq pipeline mode):
the server still runs them one after the other, each with its own snapshot, exactly as if
they had been sent one by one; only the client's waits between them are gone.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection
from sqlalchemy.exc import NoResultFound

_NAMED: Final = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
# libpq's PQTRANS_IDLE (psycopg.pq.TransactionStatus.IDLE), without importing the optional
# PostgreSQL driver on SQLite-only installs.
_PG_IDLE: Final = 0


class Query:
    """One statement in the driver's dialect, and the row type of its result (if any)."""

    __slots__ = ("autocommit", "postgres", "row", "sql")

    def __init__(self, dialect: str, text: str, columns: str = ""):
        if dialect == "postgresql":
            text = _NAMED.sub(r"%(\1)s", text)
        else:
            # SQLite's BEGIN IMMEDIATE already holds the database lock (as SQLAlchemy, which
            # drops FOR UPDATE on SQLite).
            text = text.replace(" FOR UPDATE", "")
        self.sql = text
        self.postgres = dialect == "postgresql"
        # A lone SELECT outside a transaction is its own read transaction (SQLite's driver runs
        # in autocommit; on PostgreSQL run() switches the driver to autocommit for it): a
        # fresh, consistent snapshot without BEGIN and ROLLBACK.
        self.autocommit = text.startswith("SELECT") and " FOR UPDATE" not in text
        self.row: Any = namedtuple("Row", columns) if columns else None  # type: ignore[misc]


def run(conn: Connection, query: Query, params: Any = None) -> Any:
    """Execute QUERY on CONN's driver cursor; returns the cursor (the caller reads it)."""
    if not conn.in_transaction():
        if query.autocommit:
            if query.postgres:
                return _run_autocommit(conn, query, params)
        else:
            conn.begin()  # as a Core execution would autobegin (and the begin event would fire)
    if query.postgres and _idle(conn):
        # The transaction's first statement: psycopg would send BEGIN and wait for it alone.
        return batch(conn, [(query, params)])[0]
    return _execute(conn, conn.connection.cursor(), query.sql, params)


def _execute(conn: Connection, cursor: Any, sql: str, params: Any) -> Any:
    """CURSOR.execute(SQL); a driver error goes through SQLAlchemy's handler (wrapped as
    DBAPIError, a disconnect invalidating the connection), as for a Core execution."""
    try:
        cursor.execute(sql, params if params is not None else {})
    except Exception as exc:
        cursor.close()
        conn._handle_dbapi_exception(exc, sql, params, None, None)
    return cursor


def _idle(conn: Connection) -> bool:
    """The PostgreSQL driver has no transaction open (its next statement would begin one)."""
    driver: Any = conn.connection.dbapi_connection
    return bool(driver.pgconn.transaction_status == _PG_IDLE)


def _run_autocommit(conn: Connection, query: Query, params: Any) -> Any:
    """A lone read on PostgreSQL: one round trip, its own snapshot, nothing left open."""
    driver: Any = conn.connection.dbapi_connection
    cursor = driver.cursor()
    try:
        driver.autocommit = True
        try:
            cursor.execute(query.sql, params if params is not None else {})
        finally:
            # The connection goes back to the pool (and on to write transactions) as it came;
            # before the error handler, which may close the connection.
            driver.autocommit = False
    except Exception as exc:
        cursor.close()
        conn._handle_dbapi_exception(exc, query.sql, params, None, None)
    return cursor


Step = tuple[Query, Any]


def batch(conn: Connection, steps: Sequence[Step], *, commit: bool = False) -> list[Any]:
    """Run STEPS in order inside CONN's transaction; their cursors, results already read.

    On PostgreSQL in one round trip, with the BEGIN when no transaction is open yet, and the
    COMMIT when COMMIT is set (the transaction ends here, and SQLAlchemy's commit afterwards
    finds nothing to do). The first error is raised, as run() raises it, and the statements
    after it do not run; the transaction is then aborted and rolls back. On SQLite each runs
    in turn and COMMIT is left to SQLAlchemy (one local writer: no round trips to save).
    """
    if not conn.in_transaction():
        conn.begin()
    if not steps or not steps[0][0].postgres:
        return [run(conn, query, params) for query, params in steps]
    driver: Any = conn.connection.dbapi_connection
    cursors: list[Any] = []
    extra: list[Any] = []  # BEGIN and COMMIT
    try:
        with driver.pipeline():
            # psycopg would send its BEGIN and then wait for it alone (it syncs after a BEGIN
            # in pipeline mode): ours goes in the batch instead, psycopg's left out while the
            # statements are queued. Were that flag ever renamed, psycopg would send its BEGIN
            # again and ours would only draw a warning ("already a transaction in progress").
            begin = driver.pgconn.transaction_status == _PG_IDLE and not driver.autocommit
            if begin:
                driver._autocommit = True
            try:
                if begin:
                    extra.append(driver.cursor())
                    extra[-1].execute("BEGIN")
                for query, params in steps:
                    cursors.append(driver.cursor())
                    cursors[-1].execute(query.sql, params if params is not None else {})
            finally:
                if begin:
                    driver._autocommit = False
            if commit:
                extra.append(driver.cursor())
                extra[-1].execute("COMMIT")
            # Leaving the block sends Sync and reads every result: the one round trip.
    except Exception as exc:
        for cursor in cursors:
            cursor.close()
        sql = "; ".join(query.sql for query, _ in steps)
        conn._handle_dbapi_exception(exc, sql, [p for _, p in steps], None, None)
    finally:
        for cursor in extra:
            cursor.close()
    return cursors


def execute_plain(conn: Connection, sql: str) -> None:
    """A statement without parameters or result (BEGIN), on the driver; errors as run()."""
    _execute(conn, conn.connection.cursor(), sql, None).close()


def one(conn: Connection, query: Query, params: Any = None) -> Any:
    """The single row; no row is an error, as Result.one()."""
    return one_of(run(conn, query, params), query)


def one_of(cursor: Any, query: Query) -> Any:
    """The first row of CURSOR (as first_of), which must have one; closes it."""
    row = first_of(cursor, query)
    if row is None:
        raise NoResultFound("No row was found when one was required")
    return row


def first(conn: Connection, query: Query, params: Any = None) -> Any:
    return first_of(run(conn, query, params), query)


def first_of(cursor: Any, query: Query) -> Any:
    """The first row of CURSOR (a result of QUERY, e.g. from batch()), or None; closes it."""
    try:
        raw = cursor.fetchone()
    finally:
        cursor.close()
    return None if raw is None else query.row._make(raw)


def count_of(cursor: Any) -> int:
    """The rows CURSOR's statement changed; closes it."""
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def all_rows(conn: Connection, query: Query, params: Any = None) -> Sequence[Any]:
    cursor = run(conn, query, params)
    try:
        raws = cursor.fetchall()
    finally:
        cursor.close()
    return [query.row._make(r) for r in raws]


_SWITCH_COLS: Final = "state reason changed_by changed_at_us version"
_RECORD_COLS: Final = (
    "idempotency_key request_hash kind account_hash status approval_ids notional new_orders "
    "day created_at_us updated_at_us outcome"
)
_PREVIEW_COLS: Final = (
    "preview_id kind account_id group_id created_by created_at_us expires_at_us body"
)
_APPROVAL_COLS: Final = (
    "approval_id preview_id approved_by created_at_us expires_at_us reserved_key consumed_at_us "
    "revoked_at_us"
)
_EVENT_COLS: Final = (
    "event_id occurred_at_us method request_id principal account_id_hash preview_id "
    "approval_id idempotency_key broker_order_id kill_switch_state risk_policy_id outcome "
    "status_code reason gate_step detail prev_hash hash key_id"
).split()
_INSERT_RECORD_COLS: Final = (
    "idempotency_key request_hash kind account_hash status approval_ids notional new_orders "
    "day created_at_us updated_at_us principal con_id buy_qty sell_qty fingerprint modifies_order"
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
        # A key inserted first by another request leaves this one changing nothing (rowcount
        # 0) instead of failing: the statements batched after it still answer.
        self.insert_record = q(
            _insert("idempotency_records", _INSERT_RECORD_COLS)
            + " ON CONFLICT (idempotency_key) DO NOTHING"
        )
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
            "AND reserved_key IS NULL AND consumed_at_us IS NULL AND revoked_at_us IS NULL "
            "AND expires_at_us > :b_now"
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
            "UPDATE account_usage SET daily_notional = :b_notional, "
            f"messages = messages + :b_messages WHERE {usage_where}"
        )
        self.usage_all = q(
            "SELECT "
            # The account's writes since the start of the second a minute ago (so a few more
            # than in the exact minute, never fewer), less the decision's own pending record.
            "(SELECT coalesce(sum(n), 0) FROM rate_buckets WHERE account_hash = :b_account "
            "AND epoch_s >= :b_since_s) - :b_own AS recent, "
            # One sum per status: each an equality on both columns of (account_hash, status),
            # which the planner searches as such even before the table has statistics (an
            # OR of the two it then searched by account_hash alone, walking all history).
            "(SELECT coalesce(sum(new_orders), 0) FROM idempotency_records "
            "WHERE account_hash = :b_account AND status = 'PENDING' "
            "AND idempotency_key != :b_exclude) + "
            "(SELECT coalesce(sum(new_orders), 0) FROM idempotency_records "
            "WHERE account_hash = :b_account AND status = 'UNKNOWN' "
            "AND idempotency_key != :b_exclude) AS pending_new, "
            "coalesce((SELECT n FROM open_order_counts WHERE account_hash = :b_account), 0) "
            "AS opened, "
            f"(SELECT daily_notional FROM account_usage WHERE {usage_where}) AS daily",
            "recent pending_new opened daily",
        )
        self.insert_open = q(
            _insert(
                "open_orders",
                ["account_hash", "broker_order_id", "idempotency_key", "opened_at_us"],
            )
        )
        # The chain head, locked: appends link to it one at a time, across replicas. The
        # link is an HMAC whose key the database never sees, so it is computed in the policy
        # between this lock and the insert (see audit_store.append).
        self.head_locked = q(
            "SELECT last_event_id, last_hash, key_id FROM audit_head WHERE id = 1 FOR UPDATE",
            "last_event_id last_hash key_id",
        )
        self.insert_event = q(_insert("audit_events", _EVENT_COLS))
        self.move_head = q(
            "UPDATE audit_head SET last_event_id = :b_event_id, last_hash = :b_hash, "
            "key_id = :b_key_id WHERE id = 1"
        )


_BY_DIALECT: Final = {name: Statements(name) for name in ("sqlite", "postgresql")}


def statements(conn: Connection) -> Statements:
    return _BY_DIALECT[conn.dialect.name]
