"""Approvals die with a close: the revocation a kill-switch or scoped close runs in its own
transaction."""

from __future__ import annotations

from sqlalchemy import Connection, true, update
from sqlalchemy.sql.elements import ColumnElement

from policy_service.storage.tables import approvals


def revoke_outstanding(
    conn: Connection, now_us: int, in_scope: ColumnElement[bool] | None = None
) -> dict[str, str]:
    """Revoke every approval still usable (IN_SCOPE narrows them to a scope's; reserved ones
    too: a write the broker refuses releases its reservation, and the approval must not come
    back); the close's event lists them. One event, not one per approval: it is written
    atomically with the close, and the close holds its row and the audit head for one append,
    not for hundreds."""
    rows = conn.execute(
        update(approvals)
        .where(
            approvals.c.consumed_at_us.is_(None),
            approvals.c.revoked_at_us.is_(None),
            approvals.c.expires_at_us > now_us,
            true() if in_scope is None else in_scope,
        )
        .values(revoked_at_us=now_us)
        .returning(approvals.c.approval_id, approvals.c.preview_id)
    ).all()
    return {
        "revoked_approvals": str(len(rows)),
        "revoked_approval_ids": ",".join(sorted(r.approval_id for r in rows)),
        "revoked_preview_ids": ",".join(sorted({r.preview_id for r in rows})),
    }
