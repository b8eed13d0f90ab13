"""Audit events read straight from a test's database: by request id, or one event's detail."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa


def events_by_request(db_url: str, rid: str) -> list[dict[str, Any]]:
    """The audit events of one request id, oldest first, their detail parsed."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM audit_events WHERE request_id = :r ORDER BY event_id"),
                {"r": rid},
            )
            return [{**r._mapping, "detail": json.loads(r.detail)} for r in rows]
    finally:
        engine.dispose()


def event_detail(engine: sa.Engine, event_id: int) -> dict[str, str]:
    with engine.connect() as conn:
        raw = conn.execute(
            sa.text("SELECT detail FROM audit_events WHERE event_id = :e"), {"e": event_id}
        ).scalar_one()
    return dict(json.loads(raw))
