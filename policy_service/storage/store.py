"""The gate's store: one transaction per decision, row locks and unique keys across replicas."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.reopen import OpenClaim
from policy_service.domain.risk_policy import RiskPolicy
from policy_service.storage import audit_export, audit_store, raw
from policy_service.storage import statements as sql
from policy_service.storage.group_commit import GroupCommit
from policy_service.storage.idempotency import IdempotencyStore, _Abort
from policy_service.storage.lease_store import LeaseStore
from policy_service.storage.order_life_store import OrderLifeStore
from policy_service.storage.reopen_store import (
    ReopenStore,
    cancel_pending,
    check_claim,
    lock_switch,
)
from policy_service.storage.revocation import revoke_outstanding
from policy_service.storage.risk_store import RiskStore
from policy_service.storage.rows import preview_body, preview_from, switch_from
from policy_service.storage.scope_store import ScopeStore
from policy_service.storage.tables import (
    approvals,
    kill_switch,
    kill_switch_history,
    previews,
    risk_policies,
)

log = logging.getLogger(__name__)


class RiskPolicyConflict(RuntimeError):
    """The same policy id and version is already stored with different limits."""


class PurgeRefused(RuntimeError):
    """The database's purge path refused (retention, export); REASON says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SqlStore(IdempotencyStore, RiskStore, ReopenStore, ScopeStore, OrderLifeStore, LeaseStore):
    """Implements domain.ports.Store on SQLAlchemy Core."""

    def __init__(self, write: Engine, read: Engine, chain: ChainKeeper):
        self.write = write
        self.read = read
        self.chain = chain
        self._dialect = write.dialect.name
        self._pinned = threading.local()  # see PinnedReads
        # SQLite has one writer at a time. Its busy handler waits by sleeping (1 ms, 2 ms, ...
        # up to 100 ms), so threads racing for BEGIN IMMEDIATE would mostly sleep; the group
        # commit queues them on a lock instead and shares one COMMIT among those queued.
        # PostgreSQL locks rows, and each writer commits on its own.
        self._group = GroupCommit(write.connect) if self._dialect == "sqlite" else None

    # ---- audit -----------------------------------------------------------------------------

    def append_audit(self, draft: AuditDraft, now_us: int) -> int:
        with self._tx() as conn:
            return audit_store.append(conn, self.chain.keyring, draft, now_us, commit=True)

    def start_audit_segment(self, now_us: int) -> int:
        """The current key's segment begins now (a rotation event if the head's key differs)."""
        with self._tx() as conn:
            return audit_store.start_segment(conn, self.chain.keyring, now_us)

    def purge_audit(
        self,
        plan: audit_export.PurgePlan,
        retention_days: int,
        draft_for: Callable[[int], AuditDraft],
        now_us: int,
    ) -> tuple[int, int]:
        """Purge PLAN and append its purge event (DRAFT_FOR(count)) in one transaction."""
        with self._tx() as conn:
            try:
                count = audit_export.purge(conn, plan, now_us, retention_days)
            except DBAPIError as exc:
                refused = next((r for r in audit_export.PURGE_REFUSALS if r in str(exc)), "")
                if refused:
                    raise PurgeRefused(refused) from exc
                raise
            event_id = audit_store.append(
                conn, self.chain.keyring, draft_for(count), now_us, commit=True
            )
        return count, event_id

    def audit_available(self) -> bool:
        try:
            with self._reader() as conn:
                raw.one(conn, raw.statements(conn).switch_count)
            return True
        except SQLAlchemyError:
            log.exception("audit store unreachable")
            return False

    # ---- kill switch -----------------------------------------------------------------------

    def kill_switch(self) -> m.KillSwitch:
        try:
            with self._reader() as conn:
                row = raw.one(conn, raw.statements(conn).switch)
        except SQLAlchemyError as exc:
            # Callers (gate step 6, the sync loop) refuse on StoreUnavailable; a raw driver
            # error would surface as INTERNAL instead of UNAVAILABLE / AUDIT_UNAVAILABLE.
            raise StoreUnavailable(str(exc)) from exc
        return switch_from(row)

    def set_kill_switch(
        self,
        state: m.SwitchState,
        reason: str,
        changed_by: str,
        request_id: str,
        draft: AuditDraft,
        now_us: int,
        claim: OpenClaim | None = None,
    ) -> tuple[m.KillSwitch, int]:
        """CLAIM: what an open needs to still hold under the row lock (else SwitchMoved and
        nothing written); a close, and a REDUCING from OPEN, also revoke every outstanding
        approval and cancel every pending reopen (a tightening kills what was granted before).
        A tightening's transaction goes ahead of the writes queued for SQLite's group commit."""
        with self._tx(urgent=state is not m.SwitchState.OPEN) as conn:
            row = lock_switch(conn)
            if claim is not None:
                check_claim(conn, row, claim, changed_by, now_us)
            version = int(row.version) + 1
            values = {
                "state": state.value,
                "reason": reason,
                "changed_by": changed_by,
                "changed_at_us": now_us,
                "version": version,
            }
            conn.execute(update(kill_switch).where(kill_switch.c.id == 1).values(**values))
            conn.execute(insert(kill_switch_history).values(request_id=request_id, **values))
            detail = {**draft.detail, "version": str(version)}
            tightening = state is m.SwitchState.REDUCING and row.state == m.SwitchState.OPEN.value
            if state is m.SwitchState.CLOSED or tightening:
                detail.update(revoke_outstanding(conn, now_us))
                detail.update(cancel_pending(conn, changed_by, now_us))
            event_id = audit_store.append(
                conn,
                self.chain.keyring,
                _with(draft, kill_switch_state=state.value, detail=detail),
                now_us,
                commit=True,
            )
        return m.KillSwitch(state, reason, changed_by, now_us, version), event_id

    # ---- risk policy -----------------------------------------------------------------------

    def store_risk_policy(self, policy: RiskPolicy, now_us: int) -> None:
        with self._tx() as conn:
            row = conn.execute(
                select(risk_policies.c.digest).where(
                    risk_policies.c.policy_id == policy.policy_id,
                    risk_policies.c.version == policy.version,
                )
            ).first()
            if row is None:
                conn.execute(
                    insert(risk_policies).values(
                        policy_id=policy.policy_id,
                        version=policy.version,
                        digest=policy.digest(),
                        body=json.dumps(policy.canonical(), sort_keys=True),
                        loaded_at_us=now_us,
                    )
                )
            elif row.digest != policy.digest():
                raise RiskPolicyConflict(
                    f"risk policy {policy.policy_id} version {policy.version} is already stored "
                    "with different limits; bump the version"
                )

    # ---- previews and approvals ------------------------------------------------------------

    def save_previews(self, items: Sequence[m.Preview], draft: AuditDraft, now_us: int) -> int:
        with self._tx() as conn:
            for preview in items:
                conn.execute(
                    insert(previews).values(
                        preview_id=preview.preview_id,
                        kind=preview.kind.value,
                        account_id=preview.account_id,
                        group_id=preview.group_id,
                        created_by=preview.created_by,
                        strategy=preview.strategy,
                        created_at_us=preview.created_at_us,
                        expires_at_us=preview.expires_at_us,
                        body=json.dumps(preview_body(preview)),
                    )
                )
            return audit_store.append(conn, self.chain.keyring, draft, now_us, commit=True)

    def get_previews(self, ids: Iterable[str]) -> dict[str, m.Preview]:
        wanted = [i for i in ids if i]
        if not wanted:
            return {}
        with self._reader() as conn:
            if len(wanted) == 1:
                rows = raw.all_rows(conn, raw.statements(conn).preview_by_id, {"b_id": wanted[0]})
            else:
                rows = conn.execute(sql.PREVIEWS_BY_ID, {"b_ids": wanted}).all()
        return {row.preview_id: preview_from(row) for row in rows}

    def save_approval(
        self, approval: m.Approval, comment: str, draft: AuditDraft, now_us: int
    ) -> int:
        with self._tx() as conn:
            conn.execute(
                insert(approvals).values(
                    approval_id=approval.approval_id,
                    preview_id=approval.preview_id,
                    approved_by=approval.approved_by,
                    comment=comment,
                    created_at_us=approval.created_at_us,
                    expires_at_us=approval.expires_at_us,
                )
            )
            return audit_store.append(conn, self.chain.keyring, draft, now_us, commit=True)

    def get_approvals(self, ids: Iterable[str]) -> dict[str, m.Approval]:
        wanted = [i for i in ids if i]
        if not wanted:
            return {}
        with self._reader() as conn:
            if len(wanted) == 1:
                rows = raw.all_rows(conn, raw.statements(conn).approval_by_id, {"b_id": wanted[0]})
            else:
                rows = conn.execute(sql.APPROVALS_BY_ID, {"b_ids": wanted}).all()
        return {
            row.approval_id: m.Approval(
                row.approval_id,
                row.preview_id,
                row.approved_by,
                int(row.created_at_us),
                int(row.expires_at_us),
                row.reserved_key,
                None if row.consumed_at_us is None else int(row.consumed_at_us),
                None if row.revoked_at_us is None else int(row.revoked_at_us),
            )
            for row in rows
        }

    # ---- helpers ---------------------------------------------------------------------------

    @contextmanager
    def _tx(self, urgent: bool = False) -> Iterator[Connection]:
        """A write transaction; database errors surface as StoreUnavailable."""
        try:
            with self._write_begin(urgent) as conn:
                yield conn
        except (_Abort, RiskPolicyConflict, PurgeRefused):
            raise
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc


def _with(draft: AuditDraft, **changes: Any) -> AuditDraft:
    from dataclasses import replace

    return replace(draft, **changes)
