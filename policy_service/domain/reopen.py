"""The guarded reopen: what must hold before the kill switch opens, and the second operator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.enablement import Condition

# (passed, what the verification found): a full VerifyAudit as an operator would run it.
AuditCheck = Callable[[], tuple[bool, dict[str, str]]]


@dataclass(frozen=True)
class ReopenRequest:
    """A reopen one operator asked for; it opens only on another operator's confirmation."""

    reopen_id: str
    requested_by: str
    reason: str
    request_id: str
    requested_at_us: int
    expires_at_us: int
    switch_version: int
    state: str = "PENDING"
    # What the confirmation applies: OPEN, or REDUCING (from CLOSED).
    target: m.SwitchState = m.SwitchState.OPEN

    def live(self, now_us: int, switch_version: int) -> bool:
        """Still confirmable: pending, unexpired, and the switch unchanged since."""
        return (
            self.state == "PENDING"
            and now_us < self.expires_at_us
            and switch_version == self.switch_version
        )

    def audit_detail(self) -> dict[str, str]:
        return {
            "reopen_id": self.reopen_id,
            "requested_by": self.requested_by,
            "reopen_reason": self.reason,
            "reopen_request_id": self.request_id,
            "expires_at_us": str(self.expires_at_us),
            "switch_version": str(self.switch_version),
            "target_state": self.target.value,
        }


@dataclass(frozen=True)
class OpenClaim:
    """What an open stores only if it still holds under the switch's row lock: the switch at
    VERSION in STATE, and (for a confirmation) REOPEN_ID still pending and unexpired."""

    version: int
    state: m.SwitchState
    reopen_id: str = ""
    confirmed_by: str = ""


class SwitchMoved(RuntimeError):
    """An OpenClaim no longer held when the open was stored: nothing was written."""


def not_ready(failed: list[Condition]) -> m.Denial:
    return m.Denial(
        reasons.KILL_SWITCH_OPEN_REFUSED,
        "FAILED_PRECONDITION",
        4,
        "live trading conditions do not hold: "
        + "; ".join(f"{c.name}: {c.detail}" for c in failed),
        {"failed": ",".join(c.name for c in failed)},
    )


def audit_unverified(found: dict[str, str]) -> m.Denial:
    return m.Denial(
        reasons.REOPEN_AUDIT_UNVERIFIED,
        "FAILED_PRECONDITION",
        7,
        "the audit trail does not verify now (VerifyAudit): the switch stays closed",
        found,
    )


def request_denial(call: m.Call, pending: ReopenRequest) -> m.Denial:
    """A second SetKillSwitch OPEN while PENDING is live: never a second request."""
    meta = {"reopen_id": pending.reopen_id, "requested_by": pending.requested_by}
    if pending.requested_by == call.principal:
        return same_operator(pending)
    return m.Denial(
        reasons.REOPEN_ALREADY_PENDING,
        "FAILED_PRECONDITION",
        6,
        "a reopen is pending: confirm it with ConfirmReopen and its reopen_id",
        meta,
    )


def same_operator(pending: ReopenRequest) -> m.Denial:
    return m.Denial(
        reasons.REOPEN_SAME_OPERATOR,
        "PERMISSION_DENIED",
        6,
        "the reopen must be confirmed by another operator than the one who requested it",
        {"reopen_id": pending.reopen_id, "requested_by": pending.requested_by},
    )


def confirm_denial(
    call: m.Call, reopen_id: str, pending: ReopenRequest | None, now_us: int, version: int
) -> m.Denial | None:
    """Why CALL may not confirm REOPEN_ID now, or None. VERSION: the switch's version now."""
    if pending is None or pending.state != "PENDING" or pending.switch_version != version:
        state = "UNKNOWN" if pending is None else pending.state
        if pending is not None and state == "PENDING":
            state = "SWITCH_CHANGED"
        return not_requested(reopen_id, state)
    if now_us >= pending.expires_at_us:
        return m.Denial(
            reasons.REOPEN_EXPIRED,
            "FAILED_PRECONDITION",
            6,
            "the reopen's confirmation window has ended: request a new one",
            {"reopen_id": reopen_id, "expired_at_us": str(pending.expires_at_us)},
        )
    if pending.requested_by == call.principal:
        return same_operator(pending)
    return None


def switch_changed(seen: m.KillSwitch) -> m.Denial:
    """A tightening to REDUCING found the switch moved (closed, say) under it: not stored."""
    return m.Denial(
        reasons.KILL_SWITCH_CHANGED,
        "FAILED_PRECONDITION",
        6,
        "the kill switch changed while REDUCING was being stored: read it and set it again",
        {"version": str(seen.version), "state": seen.state.value},
    )


def not_requested(reopen_id: str, state: str) -> m.Denial:
    return m.Denial(
        reasons.REOPEN_NOT_REQUESTED,
        "FAILED_PRECONDITION",
        6,
        "no pending reopen with this id (confirmed, cancelled by a close, superseded, or the "
        "switch changed since)",
        {"reopen_id": reopen_id, "state": state},
    )
