# ruff: noqa: S608  (the one statement here is built once from constant names)
"""The store's part for scoped stops: one row per scope, shared by every replica."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.scopes import Revocation, ScopedStop, ScopeKind, ScopeMoved, Subject
from policy_service.storage import audit_store, raw
from policy_service.storage.part import StorePart
from policy_service.storage.revocation import revoke_outstanding
from policy_service.storage.tables import (
    approvals,
    idempotency_records,
    previews,
    scoped_stops,
)

_REVOCABLE_COLUMNS = {"account_id", "created_by", "strategy"}
_COLS: Final = (
    "kind scope_key state reason changed_by changed_at_us request_id version reopen_by "
    "reopen_reason reopen_request_id reopen_expires_at_us reopen_target"
)
# Step 6 of every write reads this: one fixed statement on the driver's cursor (see raw), with
# a slot per subject a request can have; an empty slot matches nothing (no stored key is "").
_PRINCIPAL_SLOTS: Final = 3
_STOPPED_SQL: Final = (
    f"SELECT {', '.join(_COLS.split())} FROM scoped_stops WHERE state <> 'OPEN' AND ("
    "(kind = 'ACCOUNT' AND scope_key = :b_a) "
    "OR (kind = 'PRINCIPAL' AND scope_key IN (:b_p0, :b_p1, :b_p2)) "
    "OR (kind = 'STRATEGY' AND scope_key = :b_s))"
)
_STOPPED: Final = {d: raw.Query(d, _STOPPED_SQL, _COLS) for d in ("sqlite", "postgresql")}


def _slots(wanted: Sequence[Subject]) -> dict[str, str] | None:
    """WANTED as the fixed statement's parameters; None when it has more than fit."""
    by_kind: dict[ScopeKind, list[str]] = {k: [] for k in ScopeKind}
    for s in wanted:
        by_kind[s.kind].append(s.key)
    accounts, principals, tags = (by_kind[k] for k in ScopeKind)
    if len(accounts) > 1 or len(tags) > 1 or len(principals) > _PRINCIPAL_SLOTS:
        return None
    params = {f"b_p{i}": p for i, p in enumerate(principals)}
    params |= {f"b_p{i}": "" for i in range(len(principals), _PRINCIPAL_SLOTS)}
    return params | {"b_a": "".join(accounts), "b_s": "".join(tags)}


def stop_from(row: Any) -> ScopedStop:
    return ScopedStop(
        kind=ScopeKind(row.kind),
        key=row.scope_key,
        state=m.SwitchState(row.state),
        reason=row.reason,
        changed_by=row.changed_by,
        changed_at_us=int(row.changed_at_us),
        request_id=row.request_id,
        version=int(row.version),
        reopen_by=row.reopen_by,
        reopen_reason=row.reopen_reason,
        reopen_request_id=row.reopen_request_id,
        reopen_expires_at_us=int(row.reopen_expires_at_us),
        # "" on a row from before 0011: OPEN was the only loosening there was.
        reopen_target=m.SwitchState(row.reopen_target or "OPEN"),
    )


def _values(stop: ScopedStop) -> dict[str, Any]:
    return {
        "state": stop.state.value,
        "reason": stop.reason,
        "changed_by": stop.changed_by,
        "changed_at_us": stop.changed_at_us,
        "request_id": stop.request_id,
        "version": stop.version,
        "reopen_by": stop.reopen_by,
        "reopen_reason": stop.reopen_reason,
        "reopen_request_id": stop.reopen_request_id,
        "reopen_expires_at_us": stop.reopen_expires_at_us,
        "reopen_target": stop.reopen_target.value if stop.reopen_by else "",
    }


def revoke_in_scope(conn: Connection, scope: Revocation, now_us: int) -> dict[str, str]:
    """Revoke every approval still usable in SCOPE (as a kill-switch close does for all)."""
    if scope.column not in _REVOCABLE_COLUMNS:
        raise ValueError(f"not a scope column: {scope.column}")
    in_scope: ColumnElement[bool] = approvals.c.preview_id.in_(
        select(previews.c.preview_id).where(previews.c[scope.column] == scope.value)
    )
    if scope.approved_by:
        in_scope = or_(in_scope, approvals.c.approved_by == scope.approved_by)
    return revoke_outstanding(conn, now_us, in_scope)


class ScopeStore(StorePart):
    """Scoped stops: read by the gate at step 6, written by an operator's SetScopedStop."""

    def scoped_stops(self) -> list[ScopedStop]:
        t = scoped_stops
        try:
            with self._reader() as conn:
                rows = conn.execute(select(t).order_by(t.c.kind, t.c.scope_key)).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [stop_from(r) for r in rows]

    def closed_scopes(self, wanted: Sequence[Subject]) -> list[ScopedStop]:
        """The stops among WANTED that are CLOSED now."""
        return [s for s in self.stopped_scopes(wanted) if s.closed]

    def stopped_scopes(self, wanted: Sequence[Subject]) -> list[ScopedStop]:
        """The stops among WANTED that are CLOSED or REDUCING now (one statement: step 6 of
        every write reads it, and a REDUCING scope costs no second query)."""
        if not wanted:
            return []
        t = scoped_stops
        params = _slots(wanted)
        match = or_(*(and_(t.c.kind == s.kind.value, t.c.scope_key == s.key) for s in wanted))
        try:
            with self._reader() as conn:
                if params is not None:
                    rows = raw.all_rows(conn, _STOPPED[conn.dialect.name], params)
                else:
                    rows = conn.execute(select(t).where(t.c.state != "OPEN", match)).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [stop_from(r) for r in rows]

    def key_con_ids(self, keys: Sequence[str]) -> dict[str, int]:
        """The contract id each idempotency key's write recorded (a REDUCING scope places
        livegate's working orders by their orderRef; keys not found are left out)."""
        if not keys:
            return {}
        t = idempotency_records
        try:
            with self._reader() as conn:
                rows = conn.execute(
                    select(t.c.idempotency_key, t.c.con_id).where(
                        t.c.idempotency_key.in_(sorted(set(keys)))
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return {str(r.idempotency_key): int(r.con_id) for r in rows}

    def scoped_stop(self, kind: ScopeKind, key: str) -> ScopedStop | None:
        t = scoped_stops
        try:
            with self._reader() as conn:
                row = conn.execute(
                    select(t).where(t.c.kind == kind.value, t.c.scope_key == key)
                ).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return None if row is None else stop_from(row)

    def save_scoped_stop(
        self,
        stop: ScopedStop,
        draft: AuditDraft,
        now_us: int,
        revoke: Revocation | None = None,
    ) -> tuple[ScopedStop, dict[str, str], int]:
        """Store STOP (its version one past the row's, or 1 for a new row) with its audit event
        and, for a close, the revocation of REVOKE's approvals, in one transaction; ScopeMoved
        (nothing written) when the row is no longer at STOP.version - 1."""
        t = scoped_stops
        where = and_(t.c.kind == stop.kind.value, t.c.scope_key == stop.key)
        with self._tx() as conn:
            if stop.version == 1:
                exists = conn.execute(select(t.c.version).where(where)).first()
                if exists is not None:
                    raise ScopeMoved(f"scope {stop.kind} already stored")
                conn.execute(insert(t).values(kind=stop.kind.value, scope_key=stop.key,
                                              **_values(stop)))  # fmt: skip
            else:
                done = conn.execute(
                    update(t).where(where, t.c.version == stop.version - 1).values(**_values(stop))
                )
                if done.rowcount != 1:
                    raise ScopeMoved(f"scope {stop.kind} moved past version {stop.version - 1}")
            revoked = revoke_in_scope(conn, revoke, now_us) if revoke is not None else {}
            detail = {**draft.detail, **stop.audit_detail(), **revoked}
            event_id = audit_store.append(
                conn, self.chain.keyring, _with_detail(draft, detail), now_us, commit=True
            )
        return stop, revoked, event_id


def _with_detail(draft: AuditDraft, detail: dict[str, str]) -> AuditDraft:
    from dataclasses import replace

    return replace(draft, detail=detail)
