"""The audit chain in the database: append under the head lock, list, and walk it to verify."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from policy_service.domain.audit import (
    ROTATION_METHOD,
    SERVICE_PRINCIPAL,
    AuditDraft,
    canonical,
    keyed_link,
)
from policy_service.domain.audit_chain import Appended
from policy_service.domain.audit_keys import Keyring
from policy_service.domain.audit_verify import ChainWalk
from policy_service.storage import raw
from policy_service.storage.tables import audit_events, audit_head


class AuditWriteError(RuntimeError):
    """The audit event could not be written; the caller refuses the write it belongs to."""


@dataclass(frozen=True)
class PreparedEvent:
    """An event's values and canonical JSON pieces, built before any lock is taken."""

    event: Mapping[str, Any]
    pieces: tuple[str, str, str] | None


def prepare(draft: AuditDraft, now_us: int, key_id: str) -> PreparedEvent:
    event: dict[str, Any] = {
        "event_id": 0,
        "occurred_at_us": now_us,
        "method": draft.method,
        "request_id": draft.request_id,
        "principal": draft.principal,
        "account_id_hash": draft.account_id_hash,
        "preview_id": draft.preview_id,
        "approval_id": draft.approval_id,
        "idempotency_key": draft.idempotency_key,
        "broker_order_id": draft.broker_order_id,
        "kill_switch_state": draft.kill_switch_state,
        "risk_policy_id": draft.risk_policy_id,
        "outcome": draft.outcome,
        "status_code": draft.status_code,
        "reason": draft.reason,
        "gate_step": draft.gate_step,
        "detail": json.dumps(dict(draft.detail), sort_keys=True, separators=(",", ":")),
        "prev_hash": "",
        "key_id": key_id,
    }
    return PreparedEvent(event, canonical_pieces(event))


# What each thread appended in its current transaction; the store hands it to the chain keeper
# once the transaction has committed (an event rolled back was never in the chain).
_appended = threading.local()


def take_appended() -> list[Appended]:
    items: list[Appended] = getattr(_appended, "items", None) or []
    _appended.items = []
    return items


def append(
    conn: Connection,
    keyring: Keyring,
    draft: AuditDraft | PreparedEvent,
    now_us: int,
    before: Sequence[raw.Step] = (),
    *,
    commit: bool = False,
) -> int:
    """Append one event inside the caller's transaction; returns its event id.

    The head row is locked (FOR UPDATE on PostgreSQL, the database lock of BEGIN IMMEDIATE on
    SQLite), so ids are gap-free and every event links to the one before it across replicas.
    The link is an HMAC under a key the database never sees, so it is made here, between the
    lock and the insert: on PostgreSQL two round trips, BEFORE and the lock in the first, the
    insert, the head's move and (with COMMIT) the commit in the second. The lock is taken
    last, and the canonical JSON is built before it: under the lock only the link is computed.
    A caller holding another contended lock passes a PreparedEvent, made before it took that
    lock. Under a key other than the head's, a rotation event naming the head comes first.
    """
    prepared = (
        draft if isinstance(draft, PreparedEvent) else prepare(draft, now_us, keyring.current_id)
    )
    return _link_and_insert(conn, keyring, prepared, now_us, before, commit)


def start_segment(conn: Connection, keyring: Keyring, now_us: int) -> int:
    """At start: the rotation event, if the head is under another key (or unkeyed, the chain
    made before keys), so the current key's segment begins before anything else is appended.
    Returns the head's event id."""
    return _link_and_insert(conn, keyring, None, now_us, (), commit=False)


def _link_and_insert(
    conn: Connection,
    keyring: Keyring,
    prepared: PreparedEvent | None,
    now_us: int,
    before: Sequence[raw.Step],
    commit: bool,
) -> int:
    q = raw.statements(conn)
    cursors = raw.batch(conn, [*before, (q.head_locked, None)])
    for cursor in cursors[:-1]:
        cursor.close()
    head = raw.first_of(cursors[-1], q.head_locked)
    if head is None:
        raise AuditWriteError("the audit head row is missing")
    last_id, prev = int(head.last_event_id), str(head.last_hash)
    rows: list[dict[str, Any]] = []
    if head.key_id != keyring.current_id and last_id > 0:
        rotation = _rotation(head, keyring.current_id, now_us)
        rows.append(linked(keyring, rotation, last_id + 1, prev))
        last_id, prev = last_id + 1, rows[-1]["hash"]
    if prepared is not None:
        rows.append(linked(keyring, prepared, last_id + 1, prev))
        last_id += 1
    if not rows:
        return last_id
    move = {"b_event_id": last_id, "b_hash": rows[-1]["hash"], "b_key_id": keyring.current_id}
    steps: list[raw.Step] = [*((q.insert_event, row) for row in rows), (q.move_head, move)]
    for cursor in raw.batch(conn, steps, commit=commit):
        cursor.close()
    notes = getattr(_appended, "items", None) or []
    notes.extend(Appended(r["event_id"], r["hash"], r["key_id"], now_us) for r in rows)
    _appended.items = notes
    return last_id


def _rotation(head: Any, key_id: str, now_us: int) -> PreparedEvent:
    """The first event under KEY_ID: it names the key before and that key's last link."""
    draft = AuditDraft(
        method=ROTATION_METHOD,
        request_id=f"rotation-{uuid.uuid4().hex[:16]}",
        principal=SERVICE_PRINCIPAL,
        outcome="RECORDED",
        detail={
            "previous_key_id": str(head.key_id),
            "previous_link": str(head.last_hash),
            "previous_event_id": str(head.last_event_id),
        },
    )
    return prepare(draft, now_us, key_id)


def linked(keyring: Keyring, prepared: PreparedEvent, event_id: int, prev: str) -> dict[str, Any]:
    event = dict(prepared.event)
    event["event_id"], event["prev_hash"] = event_id, prev
    if prepared.pieces is not None:
        head, middle, tail = prepared.pieces
        text = prev + head + str(event_id) + middle + prev + tail
    else:
        text = prev + canonical(event)
    event["hash"] = keyed_link(keyring.current, text)
    return event


# Stand-ins for the two head-dependent values while the canonical JSON is built: the largest
# bigint (no real id) and a non-hex string (no real link).
_ID_MARK = 9_223_372_036_854_775_807
_PREV_MARK = "g" * 64


def canonical_pieces(event: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(head, middle, tail) with prev + canonical(event) == prev + head + id + middle + prev +
    tail for every event id and hex prev link; None if the event's own values contain a
    stand-in (the caller then builds the canonical JSON under the head lock).

    Built by canonical() itself, so the link covers exactly the text verification rebuilds;
    a hex link renders in JSON as itself in quotes, and an integer id as its digits.
    """
    text = canonical({**event, "event_id": _ID_MARK, "prev_hash": _PREV_MARK})
    id_text = str(_ID_MARK)
    if text.count(id_text) != 1 or text.count(_PREV_MARK) != 1:
        return None
    if text.index(id_text) > text.index(_PREV_MARK):
        return None  # sorted keys put event_id first; anything else is not this layout
    head, rest = text.split(id_text)
    middle, tail = rest.split(_PREV_MARK)
    return head, middle, tail


def row_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


@dataclass(frozen=True)
class EventFilter:
    since_us: int = 0
    until_us: int = 0
    request_id: str = ""
    idempotency_key: str = ""
    after_event_id: int = 0
    limit: int = 100


def list_events(engine: Engine, flt: EventFilter) -> list[dict[str, Any]]:
    query = select(audit_events).where(audit_events.c.event_id > flt.after_event_id)
    if flt.since_us:
        query = query.where(audit_events.c.occurred_at_us >= flt.since_us)
    if flt.until_us:
        query = query.where(audit_events.c.occurred_at_us < flt.until_us)
    if flt.request_id:
        query = query.where(audit_events.c.request_id == flt.request_id)
    if flt.idempotency_key:
        query = query.where(audit_events.c.idempotency_key == flt.idempotency_key)
    query = query.order_by(audit_events.c.event_id).limit(flt.limit)
    with engine.connect() as conn:
        return [row_dict(r) for r in conn.execute(query)]


def stream(
    conn: Connection, after_id: int, through_id: int | None = None
) -> Iterator[dict[str, Any]]:
    query = select(audit_events).where(audit_events.c.event_id > after_id)
    if through_id is not None:
        query = query.where(audit_events.c.event_id <= through_id)
    result = conn.execution_options(yield_per=1000).execute(query.order_by(audit_events.c.event_id))
    keys = tuple(result.keys())
    for row in result:
        yield dict(zip(keys, row, strict=True))


@dataclass(frozen=True)
class Head:
    last_event_id: int
    last_hash: str
    purged_through_event_id: int
    purged_through_hash: str
    key_id: str


def read_head(conn: Connection) -> Head:
    row = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one()
    return Head(
        int(row.last_event_id),
        row.last_hash,
        int(row.purged_through_event_id),
        row.purged_through_hash,
        row.key_id,
    )


def walk(
    engine: Engine, keyring: Keyring, resume: ChainWalk | None = None
) -> tuple[ChainWalk, Head]:
    """Walk the chain from the purge pointer (or on from RESUME) up to the head read first.

    One snapshot on PostgreSQL (REPEATABLE READ) and SQLite (one read transaction), so an
    append or a purge running meanwhile cannot look like a gap or a moved head.
    """
    with engine.connect() as plain:
        conn = (
            plain.execution_options(isolation_level="REPEATABLE READ")
            if engine.dialect.name == "postgresql"
            else plain
        )
        head = read_head(conn)
        chain = resume or ChainWalk(keyring, head.purged_through_event_id, head.purged_through_hash)
        chain.feed_all(stream(conn, chain.next_id - 1, head.last_event_id))
        conn.rollback()
    return chain, head


def link_at(engine: Engine, event_id: int) -> str | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(audit_events.c.hash).where(audit_events.c.event_id == event_id)
        ).scalar()
    return None if value is None else str(value)


def first_after(engine: Engine, after_id: int, through_id: int, at_us: int) -> int | None:
    """The first event id in (AFTER_ID, THROUGH_ID] that occurred after AT_US, if any."""
    with engine.connect() as conn:
        value = conn.execute(
            select(func.min(audit_events.c.event_id)).where(
                audit_events.c.event_id > after_id,
                audit_events.c.event_id <= through_id,
                audit_events.c.occurred_at_us > at_us,
            )
        ).scalar()
    return None if value is None else int(value)
