"""The store's part for the guarded reopen: pending requests, shared by every replica."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.reopen import OpenClaim, ReopenRequest, SwitchMoved
from policy_service.storage import audit_store
from policy_service.storage.part import StorePart
from policy_service.storage.tables import kill_switch, kill_switch_reopens

PENDING = "PENDING"


def reopen_from(row: Any) -> ReopenRequest:
    return ReopenRequest(
        reopen_id=row.reopen_id,
        requested_by=row.requested_by,
        reason=row.reason,
        request_id=row.request_id,
        requested_at_us=int(row.requested_at_us),
        expires_at_us=int(row.expires_at_us),
        switch_version=int(row.switch_version),
        state=row.state,
        target=m.SwitchState(row.target_state),
    )


def lock_switch(conn: Connection) -> Any:
    """The switch row, locked to the end of the transaction (PostgreSQL; SQLite's write
    transaction already excludes every other writer)."""
    return conn.execute(select(kill_switch).where(kill_switch.c.id == 1).with_for_update()).one()


def check_claim(conn: Connection, row: Any, claim: OpenClaim, by: str, now_us: int) -> None:
    """Raise SwitchMoved unless CLAIM still holds; mark its reopen CONFIRMED when it does."""
    if int(row.version) != claim.version or row.state != claim.state.value:
        raise SwitchMoved(f"switch at version {row.version} {row.state}")
    if not claim.reopen_id:
        return
    t = kill_switch_reopens
    done = conn.execute(
        update(t)
        .where(t.c.reopen_id == claim.reopen_id, t.c.state == PENDING)
        .where(t.c.expires_at_us > now_us, t.c.switch_version == claim.version)
        .values(state="CONFIRMED", resolved_by=by, resolved_at_us=now_us)
    )
    if done.rowcount != 1:
        raise SwitchMoved(f"reopen {claim.reopen_id} no longer pending")


def cancel_pending(conn: Connection, by: str, now_us: int) -> dict[str, str]:
    """A close cancels every pending reopen, in the close's own transaction."""
    t = kill_switch_reopens
    rows = conn.execute(
        update(t)
        .where(t.c.state == PENDING)
        .values(state="CANCELLED", resolved_by=by, resolved_at_us=now_us)
        .returning(t.c.reopen_id)
    ).all()
    return {"reopen_cancelled": ",".join(sorted(r.reopen_id for r in rows))} if rows else {}


class ReopenStore(StorePart):
    """Pending reopens of the kill switch."""

    def pending_reopen(self) -> ReopenRequest | None:
        """The newest pending request (expired or not: the caller judges it)."""
        t = kill_switch_reopens
        query = select(t).where(t.c.state == PENDING).order_by(t.c.requested_at_us.desc())
        try:
            with self._reader() as conn:
                row = conn.execute(query.limit(1)).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return None if row is None else reopen_from(row)

    def reopen(self, reopen_id: str) -> ReopenRequest | None:
        t = kill_switch_reopens
        try:
            with self._reader() as conn:
                row = conn.execute(select(t).where(t.c.reopen_id == reopen_id)).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return None if row is None else reopen_from(row)

    def request_reopen(
        self,
        req: ReopenRequest,
        draft: AuditDraft,
        now_us: int,
        from_state: m.SwitchState = m.SwitchState.CLOSED,
    ) -> int:
        """Store REQ (superseding any older pending one) and its audit event, atomically;
        SwitchMoved when the switch is no longer FROM_STATE at REQ's version."""
        t = kill_switch_reopens
        with self._tx() as conn:
            claim = OpenClaim(req.switch_version, from_state)
            check_claim(conn, lock_switch(conn), claim, req.requested_by, now_us)
            conn.execute(
                update(t)
                .where(t.c.state == PENDING)
                .values(state="SUPERSEDED", resolved_by=req.requested_by, resolved_at_us=now_us)
            )
            conn.execute(
                insert(t).values(
                    reopen_id=req.reopen_id,
                    requested_by=req.requested_by,
                    reason=req.reason,
                    request_id=req.request_id,
                    requested_at_us=req.requested_at_us,
                    expires_at_us=req.expires_at_us,
                    switch_version=req.switch_version,
                    state=PENDING,
                    resolved_by="",
                    target_state=req.target.value,
                )
            )
            return audit_store.append(conn, self.chain.keyring, draft, now_us, commit=True)
