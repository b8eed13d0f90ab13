"""The store's part for issue 19: checklist acknowledgements, fills read back, principal stops."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from policy_service.domain.audit import AuditDraft
from policy_service.domain.checklist import Acknowledgement
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.runaway import PrincipalStop
from policy_service.storage import audit_store
from policy_service.storage.part import StorePart
from policy_service.storage.tables import (
    checklist_acknowledgements,
    ended_orders,
    fills,
    principal_stops,
)

_STOP = text(
    "INSERT INTO principal_stops (principal, state, reason, stopped_at_us, detail, reset_by, "
    "reset_at_us) VALUES (:b_principal, 'STOPPED', :b_reason, :b_at, :b_detail, '', 0) "
    "ON CONFLICT (principal) DO UPDATE SET state = 'STOPPED', reason = excluded.reason, "
    "stopped_at_us = excluded.stopped_at_us, detail = excluded.detail, reset_by = '', "
    "reset_at_us = 0 WHERE principal_stops.state = 'RESET'"
)


class RiskStore(StorePart):
    """Checklist acknowledgements, fills and principal stops."""

    # ---- checklist -------------------------------------------------------------------------

    def latest_acknowledgement(self) -> Acknowledgement | None:
        t = checklist_acknowledgements
        try:
            with self._reader() as conn:
                row = conn.execute(select(t).order_by(t.c.id.desc()).limit(1)).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        if row is None:
            return None
        return Acknowledgement(
            row.acknowledged_by,
            int(row.acknowledged_at_us),
            row.risk_policy_id,
            row.risk_policy_digest,
            row.livegate_version,
            row.note,
            int(row.audit_event_id),
        )

    def record_acknowledgement(self, ack: Acknowledgement, draft: AuditDraft, now_us: int) -> int:
        with self._tx() as conn:
            event_id = audit_store.append(conn, self.chain.keyring, draft, now_us)
            conn.execute(
                insert(checklist_acknowledgements).values(
                    acknowledged_by=ack.acknowledged_by,
                    acknowledged_at_us=ack.acknowledged_at_us,
                    risk_policy_id=ack.risk_policy_id,
                    risk_policy_digest=ack.risk_policy_digest,
                    livegate_version=ack.livegate_version,
                    note=ack.note,
                    audit_event_id=event_id,
                )
            )
            return event_id

    # ---- fills (recorded by OrderLifeStore) ----------------------------------------------

    def recent_fills(self, account_hash: str, since_us: int) -> list[tuple[str, int, int]]:
        """(principal, con_id, time_us) of the account's fills at or after SINCE_US."""
        f = fills.c
        try:
            with self._reader() as conn:
                rows = conn.execute(
                    select(f.principal, f.con_id, f.time_us).where(
                        f.account_hash == account_hash, f.time_us >= since_us
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [(r.principal, int(r.con_id), int(r.time_us)) for r in rows if r.principal]

    # ---- principal stops -------------------------------------------------------------------

    def principal_stops(self) -> list[PrincipalStop]:
        try:
            with self._reader() as conn:
                rows = conn.execute(select(principal_stops)).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [_stop(r) for r in rows]

    def stop_principal(self, stop: PrincipalStop, draft: AuditDraft) -> bool:
        """Stop a principal not stopped now (one replica wins the race); audited with it."""
        values: dict[str, Any] = {
            "b_principal": stop.principal,
            "b_reason": stop.reason,
            "b_at": stop.stopped_at_us,
            "b_detail": json.dumps(stop.detail, sort_keys=True),
        }
        with self._tx() as conn:
            # A new row, or a RESET one stopped again; a STOPPED one stays as it is.
            changed = conn.execute(_STOP, values).rowcount
            if changed != 1:
                return False
            audit_store.append(conn, self.chain.keyring, draft, stop.stopped_at_us)
        return True

    def reset_principal_stop(
        self, principal: str, by: str, draft: AuditDraft, now_us: int
    ) -> PrincipalStop | None:
        p = principal_stops.c
        with self._tx() as conn:
            changed = conn.execute(
                update(principal_stops)
                .where(p.principal == principal, p.state == "STOPPED")
                .values(state="RESET", reset_by=by, reset_at_us=now_us)
            ).rowcount
            if not changed:
                return None
            event_id = audit_store.append(conn, self.chain.keyring, draft, now_us)
            row = conn.execute(select(principal_stops).where(p.principal == principal)).one()
        return dataclasses.replace(_stop(row), audit_event_id=event_id)

    def prune_ended_orders(self, before_us: int) -> int:
        with self._tx() as conn:
            result = conn.execute(
                delete(ended_orders).where(ended_orders.c.ended_at_us < before_us)
            )
            return int(result.rowcount)


def _stop(row: Any) -> PrincipalStop:
    return PrincipalStop(
        principal=row.principal,
        reason=row.reason,
        stopped_at_us=int(row.stopped_at_us),
        detail=json.loads(row.detail),
        reset_by=row.reset_by if row.state == "RESET" else "",
        reset_at_us=int(row.reset_at_us),
    )
