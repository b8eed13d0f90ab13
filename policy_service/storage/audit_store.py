"""The audit chain in the database: append under the head lock, list, verify, export, purge."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from policy_service import reasons
from policy_service.domain.audit import (
    AuditDraft,
    Verification,
    canonical,
    event_hash,
    verify_chain,
)
from policy_service.storage import raw
from policy_service.storage.tables import audit_events, audit_exports, audit_head


class AuditWriteError(RuntimeError):
    """The audit event could not be written; the caller refuses the write it belongs to."""


@dataclass(frozen=True)
class PreparedEvent:
    """An event's values and hash pieces, built before any lock is taken (see append)."""

    event: Mapping[str, Any]
    pieces: tuple[str, str, str] | None


def prepare(draft: AuditDraft, now_us: int) -> PreparedEvent:
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
    }
    return PreparedEvent(event, hash_pieces(event))


def append(
    conn: Connection,
    draft: AuditDraft | PreparedEvent,
    now_us: int,
    before: Sequence[raw.Step] = (),
    *,
    commit: bool = False,
) -> int:
    """Append one event inside the caller's transaction; returns its event id.

    The head row is locked (FOR UPDATE on PostgreSQL, the database lock of BEGIN IMMEDIATE on
    SQLite), so ids are gap-free and every event links to the one before it across replicas.
    BEFORE runs first, in the same round trip on PostgreSQL; COMMIT ends the transaction in it
    too (the head lock is then released as soon as the commit is durable). The head lock is
    taken last: the caller's other statements hold no contended lock waiting on it. A caller
    holding another contended lock passes a PreparedEvent, made before it took that lock.
    """
    q = raw.statements(conn)
    prepared = draft if isinstance(draft, PreparedEvent) else prepare(draft, now_us)
    if q.append_event is not None and prepared.pieces is not None:
        params = {k: v for k, v in prepared.event.items() if k not in raw.EVENT_SERVER_SIDE}
        params["h_head"], params["h_middle"], params["h_tail"] = prepared.pieces
        cursors = raw.batch(conn, [*before, (q.append_event, params)], commit=commit)
        row = raw.first_of(cursors[-1], q.append_event)
        if row is None:
            raise AuditWriteError("the audit head row is missing")
        return int(row.event_id)
    for cursor in raw.batch(conn, before):
        cursor.close()
    head = raw.one(conn, q.head_locked)
    event = dict(prepared.event)
    event["event_id"] = int(head.last_event_id) + 1
    event["prev_hash"] = head.last_hash
    event["hash"] = event_hash(event)
    raw.run(conn, q.insert_event, event).close()
    params = {"b_event_id": event["event_id"], "b_hash": event["hash"]}
    raw.run(conn, q.move_head, params).close()
    return int(event["event_id"])


# Stand-ins for the two head-dependent values while the canonical JSON is built: the largest
# bigint (no real id) and a non-hex string (no real hash).
_ID_MARK = 9_223_372_036_854_775_807
_PREV_MARK = "g" * 64


def hash_pieces(event: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(head, middle, tail) with event_hash(event) == sha256(prev + head + id + middle + prev
    + tail) for every event id and hex prev_hash; None if the event's own values contain a
    stand-in (the caller then hashes in Python under the head lock).

    Built by canonical() itself, so the server hashes exactly the text event_hash() hashes;
    a hex prev_hash renders in JSON as itself in quotes, and an integer id as its digits.
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


def _stream(
    conn: Connection, after_id: int, through_id: int | None = None
) -> Iterator[dict[str, Any]]:
    query = select(audit_events).where(audit_events.c.event_id > after_id)
    if through_id is not None:
        query = query.where(audit_events.c.event_id <= through_id)
    result = conn.execution_options(yield_per=1000).execute(query.order_by(audit_events.c.event_id))
    for row in result:
        yield row_dict(row)


def verify(engine: Engine) -> tuple[Verification, int]:
    """Check the whole remaining chain; returns the verdict and purged_through_event_id."""
    with engine.connect() as conn:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one()
        verdict = verify_chain(
            _stream(conn, int(head.purged_through_event_id)),
            int(head.purged_through_event_id),
            head.purged_through_hash,
            int(head.last_event_id),
            head.last_hash,
        )
    return verdict, int(head.purged_through_event_id)


@dataclass(frozen=True)
class ExportRecord:
    export_id: str
    path: Path
    manifest_path: Path
    first_event_id: int
    last_event_id: int
    event_count: int
    sha256: str


class ExportError(RuntimeError):
    def __init__(self, reason: str, message: str, metadata: Mapping[str, str]):
        super().__init__(message)
        self.reason = reason
        self.metadata = dict(metadata)


def export(engine: Engine, directory: Path, until_us: int, now_us: int) -> ExportRecord:
    """Write remaining events before UNTIL_US as JSON Lines plus a manifest; verify; record."""

    verdict, purged_through = verify(engine)
    if not verdict.ok:
        raise ExportError(
            reasons.AUDIT_CHAIN_INVALID,
            "the audit chain does not verify; refusing to export it",
            {"problem": verdict.problem, "event_id": str(verdict.first_bad_event_id)},
        )
    directory.mkdir(parents=True, exist_ok=True)
    export_id = uuid.uuid4().hex
    path = directory / f"audit-{export_id}.jsonl"
    manifest_path = directory / f"audit-{export_id}.manifest.json"
    first = last = count = 0
    first_prev = ""
    digest = hashlib.sha256()
    with engine.connect() as conn, path.open("wb") as out:
        for event in _stream(conn, purged_through):
            if until_us and event["occurred_at_us"] >= until_us:
                break
            line = (json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n").encode()
            out.write(line)
            digest.update(line)
            if count == 0:
                first, first_prev = int(event["event_id"]), event["prev_hash"]
            last, last_hash, count = int(event["event_id"]), event["hash"], count + 1
    if count == 0:
        path.unlink()
        raise ExportError(reasons.AUDIT_EXPORT_REQUIRED, "no events to export", {})
    manifest = {
        "export_id": export_id,
        "file": path.name,
        "sha256": digest.hexdigest(),
        "first_event_id": first,
        "last_event_id": last,
        "event_count": count,
        "first_prev_hash": first_prev,
        "last_hash": last_hash,
        "created_at_us": now_us,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    record = ExportRecord(export_id, path, manifest_path, first, last, count, digest.hexdigest())
    ok = verify_export_files(record)
    with engine.begin() as conn:
        conn.execute(
            insert(audit_exports).values(
                export_id=export_id,
                created_at_us=now_us,
                path=str(path),
                manifest_path=str(manifest_path),
                first_event_id=first,
                last_event_id=last,
                event_count=count,
                sha256=record.sha256,
                verified=ok,
            )
        )
    return record


def verify_export_files(record: ExportRecord) -> bool:
    """The file still hashes to the manifest and its events form an unbroken chain."""
    try:
        manifest = json.loads(record.manifest_path.read_text(encoding="utf-8"))
        data = record.path.read_bytes()
    except (OSError, ValueError):
        return False
    actual = hashlib.sha256(data).hexdigest()
    if actual != manifest.get("sha256") or actual != record.sha256:
        return False
    events = [json.loads(line) for line in data.decode().splitlines() if line]
    if len(events) != record.event_count:
        return False
    verdict = verify_chain(
        events,
        record.first_event_id - 1,
        manifest.get("first_prev_hash", ""),
        record.last_event_id,
        manifest.get("last_hash", ""),
    )
    return verdict.ok


@dataclass(frozen=True)
class PurgePlan:
    through_event_id: int
    count: int
    export_id: str
    through_hash: str


def plan_purge(engine: Engine, cutoff_us: int) -> tuple[PurgePlan | None, str]:
    """The longest prefix of the chain that is before CUTOFF_US and inside a verified export.

    Returns (plan, "") or (None, reason) when nothing may be purged.
    """

    with engine.connect() as conn:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one()
        start = int(head.purged_through_event_id)
        old_last = conn.execute(
            select(func.max(audit_events.c.event_id)).where(
                audit_events.c.event_id > start,
                audit_events.c.occurred_at_us < cutoff_us,
            )
        ).scalar()
        if not old_last:
            return None, reasons.AUDIT_RETENTION_NOT_REACHED
        # Only a prefix may go: stop before the first event that is not yet past retention.
        first_young = conn.execute(
            select(func.min(audit_events.c.event_id)).where(
                audit_events.c.event_id > start, audit_events.c.occurred_at_us >= cutoff_us
            )
        ).scalar()
        limit = int(old_last) if first_young is None else min(int(old_last), int(first_young) - 1)
        rows = conn.execute(
            select(audit_exports).where(
                audit_exports.c.verified.is_(True), audit_exports.c.first_event_id <= start + 1
            )
        ).all()
        best: ExportRecord | None = None
        for row in rows:
            record = ExportRecord(
                row.export_id,
                Path(row.path),
                Path(row.manifest_path),
                int(row.first_event_id),
                int(row.last_event_id),
                int(row.event_count),
                row.sha256,
            )
            if record.last_event_id <= start or not verify_export_files(record):
                continue  # a file changed or removed since export no longer counts
            if best is None or record.last_event_id > best.last_event_id:
                best = record
        if best is None:
            return None, reasons.AUDIT_EXPORT_REQUIRED
        through = min(limit, best.last_event_id)
        if through <= start:
            return None, reasons.AUDIT_RETENTION_NOT_REACHED
        through_hash = conn.execute(
            select(audit_events.c.hash).where(audit_events.c.event_id == through)
        ).scalar_one()
    return PurgePlan(through, through - start, best.export_id, through_hash), ""


def purge(conn: Connection, plan: PurgePlan) -> int:
    """Delete the planned prefix and move the chain's start; inside the caller's transaction."""
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()
    start = int(head.purged_through_event_id)
    if plan.through_event_id <= start:
        return 0
    result = conn.execute(
        delete(audit_events).where(
            audit_events.c.event_id > start, audit_events.c.event_id <= plan.through_event_id
        )
    )
    conn.execute(
        update(audit_head)
        .where(audit_head.c.id == 1)
        .values(
            purged_through_event_id=plan.through_event_id,
            purged_through_hash=plan.through_hash,
        )
    )
    return int(result.rowcount or 0)
