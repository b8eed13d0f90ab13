"""The store's part for dead-man leases: one row per principal, shared by every replica.

Every change is a compare-and-set on the row as it was read: a renewal never extends a lease a
replica claimed meanwhile, and two replicas never both hold a claim.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from policy_service.domain.audit import AuditDraft
from policy_service.domain.leases import Lease, LeaseMoved
from policy_service.domain.ports import StoreUnavailable
from policy_service.storage import audit_store
from policy_service.storage.part import StorePart
from policy_service.storage.tables import idempotency_records, open_orders, principal_leases

_T = principal_leases


def lease_from(row: Any) -> Lease:
    return Lease(
        principal=row.principal,
        ttl_s=float(row.ttl_s),
        started_at_us=int(row.started_at_us),
        renewed_at_us=int(row.renewed_at_us),
        expires_at_us=int(row.expires_at_us),
        released_at_us=int(row.released_at_us),
        claimed_by=row.claimed_by,
        claimed_at_us=int(row.claimed_at_us),
        scope_closed_at_us=int(row.scope_closed_at_us),
        stopped_at_us=int(row.stopped_at_us),
        attempts=int(row.attempts),
        lapse_request_id=row.lapse_request_id,
    )


def _values(lease: Lease) -> dict[str, Any]:
    return {
        "ttl_s": lease.ttl_s,
        "started_at_us": lease.started_at_us,
        "renewed_at_us": lease.renewed_at_us,
        "expires_at_us": lease.expires_at_us,
        "released_at_us": lease.released_at_us,
        "claimed_by": lease.claimed_by,
        "claimed_at_us": lease.claimed_at_us,
        "scope_closed_at_us": lease.scope_closed_at_us,
        "stopped_at_us": lease.stopped_at_us,
        "attempts": lease.attempts,
        "lapse_request_id": lease.lapse_request_id,
    }


def _as_read(lease: Lease) -> ColumnElement[bool]:
    """The row still as LEASE was read: every column a change of state moves."""
    return and_(
        _T.c.principal == lease.principal,
        _T.c.started_at_us == lease.started_at_us,
        _T.c.renewed_at_us == lease.renewed_at_us,
        _T.c.released_at_us == lease.released_at_us,
        _T.c.claimed_by == lease.claimed_by,
        _T.c.claimed_at_us == lease.claimed_at_us,
        _T.c.scope_closed_at_us == lease.scope_closed_at_us,
        _T.c.stopped_at_us == lease.stopped_at_us,
        _T.c.attempts == lease.attempts,
    )


class LeaseStore(StorePart):
    """Leases: written by RenewLease/ReleaseLease and by the DeadManWatch's claims."""

    def leases(self) -> list[Lease]:
        try:
            with self._reader() as conn:
                rows = conn.execute(select(_T).order_by(_T.c.principal)).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [lease_from(r) for r in rows]

    def lease(self, principal: str) -> Lease | None:
        try:
            with self._reader() as conn:
                row = conn.execute(select(_T).where(_T.c.principal == principal)).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return None if row is None else lease_from(row)

    def save_lease(
        self, lease: Lease, expected: Lease | None, draft: AuditDraft | None, now_us: int
    ) -> int:
        """Store LEASE over EXPECTED (None: no row yet), with DRAFT's audit event if any, in one
        transaction; LeaseMoved (nothing written) when the row is no longer EXPECTED."""
        try:
            with self._tx() as conn:
                self._put(conn, lease, expected)
                if draft is None:
                    return 0
                return audit_store.append(conn, self.chain.keyring, draft, now_us, commit=True)
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise LeaseMoved(f"lease of {lease.principal} created meanwhile") from exc
            raise

    def _put(self, conn: Connection, lease: Lease, expected: Lease | None) -> None:
        if expected is None:
            conn.execute(insert(_T).values(principal=lease.principal, **_values(lease)))
            return
        done = conn.execute(update(_T).where(_as_read(expected)).values(**_values(lease)))
        if done.rowcount != 1:
            raise LeaseMoved(f"lease of {lease.principal} moved")

    def claim_lapsed(
        self, replica: str, now_us: int, stale_before_us: int, new_request_id: str
    ) -> list[Lease]:
        """Claim for REPLICA every lease lapsed at NOW that no other replica holds (a claim not
        refreshed since STALE_BEFORE is taken over); the leases it holds now."""
        t = _T
        watched = and_(t.c.stopped_at_us == 0, t.c.released_at_us == 0)
        try:
            with self._reader() as conn:
                rows = conn.execute(
                    select(t).where(watched, t.c.expires_at_us <= now_us).order_by(t.c.principal)
                ).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        held: list[Lease] = []
        for row in rows:
            lease = lease_from(row)
            free = (
                not lease.claimed_by
                or lease.claimed_by == replica
                or lease.claimed_at_us < stale_before_us
            )
            if not free:
                continue
            claimed = self._cas(
                lease,
                claimed_by=replica,
                claimed_at_us=now_us,
                lapse_request_id=lease.lapse_request_id or new_request_id,
            )
            if claimed is not None:
                held.append(claimed)
        return held

    def refresh_claim(self, lease: Lease, now_us: int, **changes: Any) -> Lease | None:
        """LEASE's claim refreshed at NOW (with CHANGES), or None when its claim was lost."""
        return self._cas(lease, claimed_at_us=now_us, **changes)

    def _cas(self, lease: Lease, **changes: Any) -> Lease | None:
        new = dataclasses.replace(lease, **changes)
        with self._tx() as conn:
            done = conn.execute(update(_T).where(_as_read(lease)).values(**_values(new)))
            if done.rowcount != 1:
                return None
        return new

    def principal_open_orders(self, principal: str) -> list[tuple[str, int]]:
        """(account hash, broker order id) of the orders livegate placed for PRINCIPAL that
        still count as open: its keys' rows in open_orders (a bracket's three legs included)."""
        o, r = open_orders, idempotency_records
        query = (
            select(o.c.account_hash, o.c.broker_order_id)
            .select_from(o.join(r, o.c.idempotency_key == r.c.idempotency_key))
            .where(r.c.principal == principal)
            .order_by(o.c.account_hash, o.c.broker_order_id)
        )
        try:
            with self._reader() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [(row.account_hash, int(row.broker_order_id)) for row in rows]
