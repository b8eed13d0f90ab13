"""Someone with write access to the database, without the audit key: SQL straight at it.

Nothing here goes through the service's code. On SQLite whoever can write the file can drop
the triggers, so the attacker does; on PostgreSQL it connects as the superuser the tests'
cluster has and switches triggers off for its session (session_replication_role = replica).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from policy_service.domain.audit import event_hash, event_link


class Attacker:
    def __init__(self, db_url: str):
        self.url = db_url
        self.sqlite = db_url.startswith("sqlite")

    @contextmanager
    def session(self) -> Iterator[sa.Connection]:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                if self.sqlite:
                    triggers = conn.exec_driver_sql(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                        "AND name LIKE 'trg_audit%'"
                    ).scalars()
                    for name in list(triggers):
                        conn.exec_driver_sql(f"DROP TRIGGER {name}")
                else:
                    conn.exec_driver_sql("SET session_replication_role = replica")
                yield conn
        finally:
            engine.dispose()

    def events(self, conn: sa.Connection, from_id: int = 0) -> list[dict[str, Any]]:
        rows = conn.execute(
            sa.text("SELECT * FROM audit_events WHERE event_id >= :i ORDER BY event_id"),
            {"i": from_id},
        )
        return [dict(r._mapping) for r in rows]

    def edit(self, event_id: int, column: str, value: Any) -> None:
        with self.session() as conn:
            conn.execute(
                sa.text(f"UPDATE audit_events SET {column} = :v WHERE event_id = :i"),  # noqa: S608
                {"v": value, "i": event_id},
            )

    def relink(self, from_id: int, how: str) -> None:
        """Recompute every link from FROM_ID on as a forger can: plain sha256, or an HMAC
        under a key of its own; the head follows, so nothing looks cut."""
        forged_key = secrets.token_bytes(32)
        with self.session() as conn:
            before = self.events(conn, from_id - 1)
            prev = before[0]["hash"] if before and before[0]["event_id"] < from_id else ""
            for event in (e for e in before if e["event_id"] >= from_id):
                event["prev_hash"] = prev
                event["hash"] = prev = (
                    event_hash(event) if how == "sha256" else event_link(forged_key, event)
                )
                conn.execute(
                    sa.text(
                        "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE event_id = :i"
                    ),
                    {"p": event["prev_hash"], "h": event["hash"], "i": event["event_id"]},
                )
            conn.execute(sa.text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})

    def delete(self, event_id: int) -> None:
        with self.session() as conn:
            conn.execute(sa.text("DELETE FROM audit_events WHERE event_id = :i"), {"i": event_id})

    def cut_after(self, keep_id: int) -> None:
        """Delete every event after KEEP_ID and set the head to it: a consistent, shorter chain."""
        with self.session() as conn:
            conn.execute(sa.text("DELETE FROM audit_events WHERE event_id > :i"), {"i": keep_id})
            link = conn.execute(
                sa.text("SELECT hash FROM audit_events WHERE event_id = :i"), {"i": keep_id}
            ).scalar()
            conn.execute(
                sa.text("UPDATE audit_head SET last_event_id = :i, last_hash = :h WHERE id = 1"),
                {"i": keep_id, "h": link or ""},
            )

    def truncate(self) -> None:
        """Empty the table and the head: a chain that never had an event."""
        with self.session() as conn:
            conn.exec_driver_sql(
                "DELETE FROM audit_events" if self.sqlite else "TRUNCATE audit_events"
            )
            conn.exec_driver_sql(
                "UPDATE audit_head SET last_event_id = 0, last_hash = '', key_id = '', "
                "purged_through_event_id = 0, purged_through_hash = '' WHERE id = 1"
            )

    def move_purge_pointer(self, through_id: int) -> None:
        """Delete the oldest events and move the chain's start past them, with no export."""
        with self.session() as conn:
            link = conn.execute(
                sa.text("SELECT hash FROM audit_events WHERE event_id = :i"), {"i": through_id}
            ).scalar_one()
            conn.execute(
                sa.text("DELETE FROM audit_events WHERE event_id <= :i"), {"i": through_id}
            )
            conn.execute(
                sa.text(
                    "UPDATE audit_head SET purged_through_event_id = :i, purged_through_hash = :h "
                    "WHERE id = 1"
                ),
                {"i": through_id, "h": link},
            )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
