"""Exports with keyed manifests, and the purge that needs one (through the database's path)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from policy_service import reasons
from policy_service.domain.audit_keys import Keyring
from policy_service.domain.audit_manifest import check_export, manifest_digest, sign_manifest
from policy_service.storage import audit_store
from policy_service.storage.append_only import MIN_RETENTION_DAYS
from policy_service.storage.tables import audit_events, audit_exports, audit_head, audit_purges


@dataclass(frozen=True)
class ExportRecord:
    export_id: str
    path: Path
    manifest_path: Path
    first_event_id: int
    last_event_id: int
    event_count: int
    sha256: str
    manifest_sha256: str
    key_ids: tuple[str, ...]


class ExportError(RuntimeError):
    def __init__(self, reason: str, message: str, metadata: Mapping[str, str]):
        super().__init__(message)
        self.reason = reason
        self.metadata = dict(metadata)


def manifest_path_of(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".jsonl") + ".manifest.json")


def export(
    engine: Engine, keyring: Keyring, directory: Path, until_us: int, now_us: int
) -> ExportRecord:
    """Write remaining events before UNTIL_US as JSON Lines plus a keyed manifest; record it."""
    chain, head = audit_store.walk(engine, keyring)
    problem = chain.finish(
        head.last_event_id, head.last_hash, head.purged_through_event_id, head.purged_through_hash
    )
    if problem is not None:
        raise ExportError(
            reasons.AUDIT_CHAIN_INVALID,
            "the audit chain does not verify; refusing to export it",
            {"problem": problem.code, "event_id": str(problem.event_id)},
        )
    directory.mkdir(parents=True, exist_ok=True)
    export_id = uuid.uuid4().hex
    path = directory / f"audit-{export_id}.jsonl"
    first = last = count = 0
    first_prev = last_link = ""
    key_ids: list[str] = []
    digest = hashlib.sha256()
    with engine.connect() as conn, path.open("wb") as out:
        for event in audit_store.stream(conn, head.purged_through_event_id, head.last_event_id):
            if until_us and event["occurred_at_us"] >= until_us:
                break
            line = (json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n").encode()
            out.write(line)
            digest.update(line)
            if count == 0:
                first, first_prev = int(event["event_id"]), event["prev_hash"]
            if event["key_id"] and event["key_id"] not in key_ids:
                key_ids.append(event["key_id"])
            last, last_link, count = int(event["event_id"]), event["hash"], count + 1
    if count == 0:
        path.unlink()
        raise ExportError(reasons.AUDIT_EXPORT_REQUIRED, "no events to export", {})
    manifest = sign_manifest(
        keyring,
        {
            "export_id": export_id,
            "file": path.name,
            "sha256": digest.hexdigest(),
            "first_event_id": first,
            "last_event_id": last,
            "event_count": count,
            "first_prev_link": first_prev,
            "last_link": last_link,
            "key_ids": key_ids,
            "created_at_us": now_us,
        },
    )
    manifest_path = manifest_path_of(path)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    record = ExportRecord(
        export_id,
        path,
        manifest_path,
        first,
        last,
        count,
        digest.hexdigest(),
        manifest_digest(manifest),
        tuple(key_ids),
    )
    ok = verify_export_files(keyring, record)
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
                manifest_sha256=record.manifest_sha256,
            )
        )
    return record


def load_manifest(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def file_sha256(path: Path) -> str:
    """sha256 of PATH, read in chunks (an export may be larger than memory); "" if unreadable."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def verify_export_files(keyring: Keyring, record: ExportRecord) -> bool:
    """The manifest is the recorded one and ours; the file is what it describes, chained."""
    manifest = load_manifest(record.manifest_path)
    try:
        data = record.path.read_bytes()
    except OSError:
        return False
    if manifest is None or manifest_digest(manifest) != record.manifest_sha256:
        return False
    return check_export(keyring, manifest, data).problem is None


@dataclass(frozen=True)
class PurgePlan:
    through_event_id: int
    count: int
    export_id: str
    through_hash: str
    manifest_sha256: str


def _records(conn: Connection, start: int) -> list[ExportRecord]:
    rows = conn.execute(
        select(audit_exports).where(
            audit_exports.c.verified.is_(True),
            audit_exports.c.first_event_id <= start + 1,
            audit_exports.c.last_event_id > start,
        )
    ).all()
    return [
        ExportRecord(
            row.export_id,
            Path(row.path),
            Path(row.manifest_path),
            int(row.first_event_id),
            int(row.last_event_id),
            int(row.event_count),
            row.sha256,
            row.manifest_sha256,
            (),
        )
        for row in rows
    ]


def plan_purge(engine: Engine, keyring: Keyring, cutoff_us: int) -> tuple[PurgePlan | None, str]:
    """The longest prefix of the chain that is before CUTOFF_US and inside a verified export.

    Returns (plan, "") or (None, reason) when nothing may be purged.
    """
    with engine.connect() as conn:
        start = int(audit_store.read_head(conn).purged_through_event_id)
        # Only a prefix may go: stop before the first event that is not yet past retention.
        first_young = conn.execute(
            select(func.min(audit_events.c.event_id)).where(
                audit_events.c.event_id > start, audit_events.c.occurred_at_us >= cutoff_us
            )
        ).scalar()
        old_last = conn.execute(
            select(func.max(audit_events.c.event_id)).where(audit_events.c.event_id > start)
        ).scalar()
        limit = int(old_last or 0) if first_young is None else int(first_young) - 1
        if limit <= start:
            return None, reasons.AUDIT_RETENTION_NOT_REACHED
        # A file changed or removed since export no longer counts.
        usable = [r for r in _records(conn, start) if verify_export_files(keyring, r)]
        if not usable:
            return None, reasons.AUDIT_EXPORT_REQUIRED
        best = max(usable, key=lambda r: r.last_event_id)
        through = min(limit, best.last_event_id)
        through_hash = conn.execute(
            select(audit_events.c.hash).where(audit_events.c.event_id == through)
        ).scalar_one()
    plan = PurgePlan(through, through - start, best.export_id, through_hash, best.manifest_sha256)
    return plan, ""


# What the PostgreSQL purge function raises, by the reason the operator gets.
PURGE_REFUSALS = (
    reasons.AUDIT_RETENTION_NOT_REACHED,
    reasons.AUDIT_EXPORT_REQUIRED,
    reasons.AUDIT_PURGE_POINT_UNKNOWN,
)


def purge(conn: Connection, plan: PurgePlan, now_us: int, retention_days: int) -> int:
    """Delete the planned prefix, record the purge, move the chain's start: in the caller's
    transaction. PostgreSQL: only through livegate_audit_purge(), which checks retention by
    the database's clock and the export's manifest digest itself. SQLite: the same rows, in
    the order its triggers allow (the purge recorded first)."""
    if conn.dialect.name == "postgresql":
        return int(
            conn.execute(
                text(
                    "SELECT livegate_audit_purge(:through, :hash, :export_id, :manifest, "
                    ":now, :retention)"
                ),
                {
                    "through": plan.through_event_id,
                    "hash": plan.through_hash,
                    "export_id": plan.export_id,
                    "manifest": plan.manifest_sha256,
                    "now": now_us,
                    "retention": max(retention_days, MIN_RETENTION_DAYS),
                },
            ).scalar_one()
        )
    start = int(audit_store.read_head(conn).purged_through_event_id)
    if plan.through_event_id <= start:
        return 0
    conn.execute(
        insert(audit_purges).values(
            through_event_id=plan.through_event_id,
            through_hash=plan.through_hash,
            export_id=plan.export_id,
            manifest_sha256=plan.manifest_sha256,
            purged_at_us=now_us,
        )
    )
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
