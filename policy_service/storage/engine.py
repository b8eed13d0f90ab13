"""Engines for SQLite (WAL, serialised writers) and PostgreSQL, and migrations at start."""

from __future__ import annotations

import select
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, exc, text

from policy_service.storage import append_only, raw

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any fixed number: the key of the PostgreSQL advisory lock that serialises migrations when
# several replicas start at once.
_MIGRATION_LOCK_KEY = 7_405_112_001


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(write engine, read engine). On PostgreSQL both are one pooled engine."""
    if not is_sqlite(url):
        engine = create_engine(url, pool_size=20, max_overflow=20)
        _ping_when_in_doubt(engine)
        return engine, engine
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    write = _sqlite_engine(url, immediate=True)
    read = _sqlite_engine(url, immediate=False)
    return write, read


# A pooled connection unused for longer than this is pinged before use (see below).
IDLE_PING_S = 1.0
_CHECKED_IN = "livegate_checked_in"


def _ping_when_in_doubt(engine: Engine) -> None:
    """pool_pre_ping, but with the round trip only when the connection may be dead.

    pre_ping sends SELECT 1 at every checkout: a round trip per decision. A server that ends a
    session (restart, pg_terminate_backend, crash recovery, idle timeout) sends an error and
    closes the socket, so that connection's socket turns readable while it sits in the pool:
    a zero-timeout poll sees it without a round trip, and only then is it pinged. What no
    poll can see is a peer that vanished without closing (host down, a middlebox dropping
    the flow); it takes seconds to come back from, so a connection idle for more than
    IDLE_PING_S is pinged as before. A ping that fails invalidates the pool (as pre_ping's
    does) and the checkout gets a fresh connection, so a restarted database does not surface
    as refusals. A ping that raises anything but a disconnect propagates, as pre_ping's does.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN)
        if checked_in is None:
            return  # fresh from connect(): nothing to doubt (pre_ping skips these too)
        if time.monotonic() - checked_in <= IDLE_PING_S and not _maybe_closed(dbapi_conn):
            return
        if not engine.dialect._do_ping_w_event(dbapi_conn):
            raise exc.InvalidatePoolError()


def _maybe_closed(dbapi_conn: Any) -> bool:
    """True if the server may have ended this idle session: closed, broken or readable."""
    try:
        if dbapi_conn.closed or dbapi_conn.pgconn.status != 0:  # libpq CONNECTION_OK
            return True
        poller = select.poll()  # not select(): descriptors above 1023 are fine
        poller.register(dbapi_conn.pgconn.socket, select.POLLIN)
        ready = poller.poll(0)
    except Exception:  # no socket, a closed one...: any doubt means ping it
        return True
    # An idle session has nothing to read unless the server wrote to it (a FATAL error, EOF).
    return bool(ready)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(url, pool_size=20, max_overflow=20, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is what runs.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the database lock at BEGIN: a read-then-write transaction cannot be
        # overtaken between its read and its write, which is what the row locks do on PostgreSQL.
        # On the driver's cursor (errors mapped as SQLAlchemy's): exec_driver_sql costs more
        # Python than SQLite takes to begin, and every read begins too.
        raw.execute_plain(conn, begin_sql)

    return engine


def migrate(engine: Engine, app_role: str = "") -> None:
    """alembic upgrade head, on this engine; serialised across replicas on PostgreSQL.

    APP_ROLE (PostgreSQL): the service's own role, granted what it may do on the tables once
    they are at head (see storage.append_only); run by the tables' owner, not by the service.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["app_role"] = app_role
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            if app_role and engine.dialect.name == "postgresql":
                # Again at head: tables a later migration added get their grants too.
                append_only.grant_app_role(conn, app_role)
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                conn.commit()
