"""Audit operations for operators: list, verify, export and purge, each itself audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from policy_service import reasons
from policy_service.audit_watch import AuditVerdict, AuditWatch
from policy_service.domain import model as m
from policy_service.domain.audit import PURGE_METHOD
from policy_service.domain.denials import scope_denial
from policy_service.domain.gate import Gate
from policy_service.domain.ports import StoreUnavailable
from policy_service.storage import audit_export, audit_store
from policy_service.storage.audit_export import ExportError, ExportRecord, PurgePlan
from policy_service.storage.audit_store import EventFilter
from policy_service.storage.store import PurgeRefused, SqlStore

log = logging.getLogger(__name__)
READ = "audit.read"
EXPORT = "audit.export"
DAY_US = 86_400_000_000


@dataclass(frozen=True)
class PurgeResult:
    purged_count: int
    purged_through_event_id: int
    export_id: str
    audit_event_id: int
    manifest_sha256: str


def _unavailable() -> m.Denial:
    return m.Denial(reasons.AUDIT_UNAVAILABLE, "UNAVAILABLE", 7, "audit store unavailable")


class AuditOps:
    def __init__(
        self, gate: Gate, store: SqlStore, engine: Engine, export_dir: Path, watch: AuditWatch
    ):
        self._gate = gate
        self._store = store
        self._engine = engine
        self._export_dir = export_dir
        self._watch = watch

    def list(self, call: m.Call, flt: EventFilter) -> list[dict[str, Any]] | m.Denial:
        denial = scope_denial(call, READ)
        if denial is not None:
            return self._gate.refuse(call, denial)
        try:
            return audit_store.list_events(self._engine, flt)
        except SQLAlchemyError:
            return _unavailable()

    def verify(self, call: m.Call) -> AuditVerdict | m.Denial:
        """A full verification; a break found closes the kill switch (see audit_watch)."""
        denial = scope_denial(call, READ)
        if denial is not None:
            return self._gate.refuse(call, denial)
        try:
            return self._watch.check()
        except SQLAlchemyError:
            log.exception("audit verification could not read the chain")
            return _unavailable()

    def export(self, call: m.Call, until_us: int) -> ExportRecord | m.Denial:
        gate = self._gate
        denial = scope_denial(call, EXPORT)
        if denial is not None:
            return gate.refuse(call, denial)
        try:
            record = audit_export.export(
                self._engine,
                self._store.chain.keyring,
                self._export_dir,
                until_us,
                gate.clock.now_us(),
            )
        except ExportError as err:
            return gate.refuse(
                call, m.Denial(err.reason, "FAILED_PRECONDITION", 0, str(err), err.metadata)
            )
        except (SQLAlchemyError, OSError):
            log.exception("export failed")
            return _unavailable()
        self._note(
            call,
            "RECORDED",
            {
                "export_id": record.export_id,
                "last_event_id": str(record.last_event_id),
                "manifest_sha256": record.manifest_sha256,
            },
        )
        return record

    def purge(self, call: m.Call, before_us: int, dry_run: bool) -> PurgeResult | m.Denial:
        gate = self._gate
        denial = scope_denial(call, EXPORT)
        if denial is not None:
            return gate.refuse(call, denial)
        now = gate.clock.now_us()
        # Never younger than retention, whatever the caller asks.
        cutoff = now - gate.settings.retention_days * DAY_US
        if before_us:
            cutoff = min(cutoff, before_us)
        try:
            plan, reason = audit_export.plan_purge(self._engine, self._store.chain.keyring, cutoff)
        except SQLAlchemyError:
            return _unavailable()
        if plan is None:
            return self._refuse_purge(call, reason, cutoff)
        if dry_run:
            return PurgeResult(
                plan.count, plan.through_event_id, plan.export_id, 0, plan.manifest_sha256
            )
        try:
            count, event_id = self._store.purge_audit(
                plan, gate.settings.retention_days, lambda n: self._purge_draft(call, plan, n), now
            )
        except PurgeRefused as refused:
            return self._refuse_purge(call, refused.reason, cutoff)
        except StoreUnavailable:
            return _unavailable()
        return PurgeResult(
            count, plan.through_event_id, plan.export_id, event_id, plan.manifest_sha256
        )

    def _purge_draft(self, call: m.Call, plan: PurgePlan, count: int) -> Any:
        """The purge event: what went, the link it ended at, and the export that covered it."""
        return self._gate.draft(
            m.Call(PURGE_METHOD, call.request_id, call.principal, call.scopes),
            "RECORDED",
            None,
            gate_step=0,
            detail={
                "purged_count": str(count),
                "purged_through_event_id": str(plan.through_event_id),
                "purged_through_link": plan.through_hash,
                "export_id": plan.export_id,
                "manifest_sha256": plan.manifest_sha256,
            },
        )

    def _refuse_purge(self, call: m.Call, reason: str, cutoff: int) -> m.Denial:
        gate = self._gate
        return gate.refuse(
            call,
            m.Denial(
                reason,
                "FAILED_PRECONDITION",
                0,
                "nothing may be purged: events must be past retention and in a verified export",
                {"retention_days": str(gate.settings.retention_days), "cutoff_us": str(cutoff)},
            ),
        )

    def _note(self, call: m.Call, outcome: str, detail: dict[str, str]) -> None:
        gate = self._gate
        try:
            gate.store.append_audit(
                gate.draft(call, outcome, None, gate_step=0, detail=detail), gate.clock.now_us()
            )
        except StoreUnavailable:
            log.error("could not audit", extra={"method": call.method})
