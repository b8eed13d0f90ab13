"""Dead-man leases: a principal that opts in renews its lease; one that stops renewing is
stopped by the DeadManWatch (domain.dead_man). Here: the lease's values, the rules of a
renewal and a release, and the two RPCs' decisions.

The principal is the caller's certificate identity; the scope is live.submit (the lease guards
the orders a caller places, so a caller that cannot place any has nothing to guard). Plain
renewals are not audited (they are heartbeats, every few seconds); a lease's start (or
restart), its release and every refusal are.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from livegate_common.scopes import LIVE_SUBMIT
from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.denials import audit_down, scope_denial
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.scopes import ScopeKind

if TYPE_CHECKING:
    from policy_service.domain.gate import Gate

log = logging.getLogger(__name__)

SCOPE: Final = LIVE_SUBMIT
# A renewal that races the watch's claim (or another renewal) tries again; a few always land.
_TRIES: Final = 3


class LeaseState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    LAPSED = "LAPSED"
    STOPPED = "STOPPED"
    RELEASED = "RELEASED"


class LeaseMoved(RuntimeError):
    """The lease's row changed since it was read (a claim, another renewal): nothing written."""


@dataclass(frozen=True)
class LeaseSettings:
    """dead_man.* of the config (see policy_service.config)."""

    enabled: bool = True
    min_ttl_s: float = 5.0
    max_ttl_s: float = 3600.0
    check_interval_s: float = 1.0
    claim_stale_s: float = 30.0


@dataclass(frozen=True)
class Lease:
    principal: str
    ttl_s: float
    started_at_us: int
    renewed_at_us: int
    expires_at_us: int
    released_at_us: int = 0
    claimed_by: str = ""
    claimed_at_us: int = 0
    scope_closed_at_us: int = 0
    stopped_at_us: int = 0
    attempts: int = 0
    lapse_request_id: str = ""

    def state(self, now_us: int) -> LeaseState:
        if self.released_at_us:
            return LeaseState.RELEASED
        if self.stopped_at_us:
            return LeaseState.STOPPED
        if self.claimed_by or self.expires_at_us <= now_us:
            return LeaseState.LAPSED
        return LeaseState.ACTIVE

    def audit_detail(self) -> dict[str, str]:
        return {
            "lease.principal": self.principal,
            "lease.ttl_s": f"{self.ttl_s:g}",
            "lease.renewed_at_us": str(self.renewed_at_us),
            "lease.expires_at_us": str(self.expires_at_us),
        }


def new_lease(principal: str, ttl_s: float, now_us: int) -> Lease:
    return Lease(principal, ttl_s, now_us, now_us, now_us + int(ttl_s * 1_000_000))


def ttl_denial(ttl_s: float, s: LeaseSettings) -> m.Denial | None:
    """Step 2: a ttl inside the configured bounds (NaN and infinities are outside)."""
    if s.min_ttl_s <= ttl_s <= s.max_ttl_s:
        return None
    return m.Denial(
        reasons.LEASE_TTL_OUT_OF_RANGE,
        "INVALID_ARGUMENT",
        2,
        f"ttl_s must be {s.min_ttl_s:g}..{s.max_ttl_s:g} seconds",
        {"ttl_s": f"{ttl_s:g}", "min_ttl_s": f"{s.min_ttl_s:g}", "max_ttl_s": f"{s.max_ttl_s:g}"},
    )


def disabled() -> m.Denial:
    return m.Denial(
        reasons.LEASE_DISABLED,
        "FAILED_PRECONDITION",
        4,
        "dead-man leases are turned off (dead_man.enabled is false)",
        {"condition": "dead_man.enabled"},
    )


def lapsed(lease: Lease, scope_state: str) -> m.Denial:
    return m.Denial(
        reasons.LEASE_LAPSED,
        "FAILED_PRECONDITION",
        6,
        "the lease lapsed: an operator reopens the principal's scope, then renew to start anew",
        {
            "principal": lease.principal,
            "expires_at_us": str(lease.expires_at_us),
            "stopped_at_us": str(lease.stopped_at_us),
            "scope_state": scope_state,
        },
    )


def not_found(principal: str) -> m.Denial:
    meta = {"principal": principal}
    return m.Denial(reasons.LEASE_NOT_FOUND, "NOT_FOUND", 6, "the caller holds no lease", meta)


def renewed(
    current: Lease | None, principal: str, ttl_s: float, now_us: int, scope_closed: bool
) -> tuple[Lease, bool] | m.Denial:
    """The lease after a renewal, and whether it starts a new one; or why not.

    No lease, or a released one: a new lease. An active one: extended from now. A lapsed one
    (expired, claimed or being acted on): refused, the watch acts on it, renewing late does not
    undo a lapse. A stopped one: refused while the principal's scope stays closed; once an
    operator reopened it, the renewal starts a new lease.
    """
    if current is None:
        return new_lease(principal, ttl_s, now_us), True
    state = current.state(now_us)
    if state is LeaseState.RELEASED:
        return new_lease(principal, ttl_s, now_us), True
    if state is LeaseState.LAPSED or (state is LeaseState.STOPPED and scope_closed):
        return lapsed(current, "CLOSED" if scope_closed else "OPEN")
    if state is LeaseState.STOPPED:
        return new_lease(principal, ttl_s, now_us), True
    extended = dataclasses.replace(
        current, ttl_s=ttl_s, renewed_at_us=now_us, expires_at_us=now_us + int(ttl_s * 1e6)
    )
    return extended, False


def released(current: Lease | None, principal: str, now_us: int) -> Lease | m.Denial:
    """An active lease released now; a released one as it is; a lapsed one refused (a lapse is
    not escaped by releasing late)."""
    if current is None:
        return not_found(principal)
    state = current.state(now_us)
    if state is LeaseState.RELEASED:
        return current
    if state is not LeaseState.ACTIVE:
        return lapsed(current, "")
    return dataclasses.replace(current, released_at_us=now_us)


class Leases:
    """RenewLease and ReleaseLease: checks in gate order, the store's compare-and-set."""

    def __init__(self, gate: Gate, settings: LeaseSettings):
        self._gate = gate
        self.settings = settings

    def listed(self) -> list[Lease]:
        try:
            return self._gate.store.leases()
        except StoreUnavailable:
            return []

    def renew(self, call: m.Call, ttl_s: float) -> Lease | m.Denial:
        gate = self._gate
        denial = (
            ttl_denial(ttl_s, self.settings)
            or scope_denial(call, SCOPE)
            or (None if self.settings.enabled else disabled())
        )
        if denial is not None:
            return gate.refuse(call, denial, detail={"ttl_s": f"{ttl_s:g}"})
        try:
            return self._renew(call, ttl_s)
        except StoreUnavailable:
            log.exception("lease not stored")
            return gate.refuse(call, audit_down())

    def _renew(self, call: m.Call, ttl_s: float) -> Lease | m.Denial:
        gate = self._gate
        for _ in range(_TRIES):
            now = gate.clock.now_us()
            current = gate.store.lease(call.principal)
            scope = gate.store.scoped_stop(ScopeKind.PRINCIPAL, call.principal)
            closed = scope is not None and scope.closed
            decided = renewed(current, call.principal, ttl_s, now, closed)
            if isinstance(decided, m.Denial):
                return gate.refuse(call, decided)
            lease, started = decided
            draft = None
            if started:
                detail = {**lease.audit_detail(), "lease": "STARTED"}
                draft = gate.draft(call, "RECORDED", None, gate_step=0, detail=detail)
            try:
                gate.store.save_lease(lease, current, draft, now)
            except LeaseMoved:
                continue
            if started:
                log.info("lease started", extra=lease.audit_detail())
            return lease
        raise StoreUnavailable("the lease kept changing under the renewal")

    def release(self, call: m.Call) -> Lease | m.Denial:
        gate = self._gate
        denial = scope_denial(call, SCOPE) or (None if self.settings.enabled else disabled())
        if denial is not None:
            return gate.refuse(call, denial)
        try:
            now = gate.clock.now_us()
            current = gate.store.lease(call.principal)
            decided = released(current, call.principal, now)
            if isinstance(decided, m.Denial):
                return gate.refuse(call, decided)
            if decided is current:
                return decided
            detail = {**decided.audit_detail(), "lease": "RELEASED"}
            draft = gate.draft(call, "RECORDED", None, gate_step=0, detail=detail)
            try:
                gate.store.save_lease(decided, current, draft, now)
            except LeaseMoved:
                # The watch claimed it meanwhile: it lapsed first.
                return gate.refuse(call, lapsed(gate.store.lease(call.principal) or decided, ""))
            return decided
        except StoreUnavailable:
            log.exception("lease release not stored")
            return gate.refuse(call, audit_down())
