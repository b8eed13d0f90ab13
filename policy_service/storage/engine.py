"""Engines for SQLite (WAL, serialised writers) and PostgreSQL, and migrations at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text

from policy_service.storage import raw

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any fixed number: the key of the PostgreSQL advisory lock that serialises migrations when
# several replicas start at once.
_MIGRATION_LOCK_KEY = 7_405_112_001


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(write engine, read engine). On PostgreSQL both are one pooled engine."""
    if not is_sqlite(url):
        engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
        return engine, engine
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    write = _sqlite_engine(url, immediate=True)
    read = _sqlite_engine(url, immediate=False)
    return write, read


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


def migrate(engine: Engine) -> None:
    """alembic upgrade head, on this engine; serialised across replicas on PostgreSQL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                conn.commit()
