"""Audit operations for operators: list, verify, export and purge, each itself audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.audit import Verification
from policy_service.domain.denials import scope_denial
from policy_service.domain.gate import Gate
from policy_service.domain.ports import StoreUnavailable
from policy_service.storage import audit_store
from policy_service.storage.audit_store import EventFilter, ExportError, ExportRecord

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


def _unavailable() -> m.Denial:
    return m.Denial(reasons.AUDIT_UNAVAILABLE, "UNAVAILABLE", 7, "audit store unavailable")


class AuditOps:
    def __init__(self, gate: Gate, engine: Engine, export_dir: Any):
        self._gate = gate
        self._engine = engine
        self._export_dir = export_dir

    def list(self, call: m.Call, flt: EventFilter) -> list[dict[str, Any]] | m.Denial:
        denial = scope_denial(call, READ)
        if denial is not None:
            return self._gate.refuse(call, denial)
        try:
            return audit_store.list_events(self._engine, flt)
        except SQLAlchemyError:
            return _unavailable()

    def verify(self, call: m.Call) -> tuple[Verification, int] | m.Denial:
        denial = scope_denial(call, READ)
        if denial is not None:
            return self._gate.refuse(call, denial)
        try:
            return audit_store.verify(self._engine)
        except SQLAlchemyError:
            return _unavailable()

    def export(self, call: m.Call, until_us: int) -> ExportRecord | m.Denial:
        gate = self._gate
        denial = scope_denial(call, EXPORT)
        if denial is not None:
            return gate.refuse(call, denial)
        try:
            record = audit_store.export(
                self._engine, self._export_dir, until_us, gate.clock.now_us()
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
            {"export_id": record.export_id, "last_event_id": str(record.last_event_id)},
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
            plan, reason = audit_store.plan_purge(self._engine, cutoff)
        except SQLAlchemyError:
            return _unavailable()
        if plan is None:
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
        if dry_run:
            return PurgeResult(plan.count, plan.through_event_id, plan.export_id, 0)
        try:
            with self._engine.begin() as conn:
                count = audit_store.purge(conn, plan)
                draft = gate.draft(
                    m.Call("AuditPurge", call.request_id, call.principal, call.scopes),
                    "RECORDED",
                    None,
                    gate_step=0,
                    detail={
                        "purged_count": str(count),
                        "purged_through_event_id": str(plan.through_event_id),
                        "export_id": plan.export_id,
                    },
                )
                event_id = audit_store.append(conn, draft, now)
        except SQLAlchemyError:
            return _unavailable()
        return PurgeResult(count, plan.through_event_id, plan.export_id, event_id)

    def _note(self, call: m.Call, outcome: str, detail: dict[str, str]) -> None:
        gate = self._gate
        try:
            gate.store.append_audit(
                gate.draft(call, outcome, None, gate_step=0, detail=detail), gate.clock.now_us()
            )
        except StoreUnavailable:
            log.error("could not audit", extra={"method": call.method})
