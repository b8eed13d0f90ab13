"""The DeadManWatch: every replica looks for lapsed leases each dead_man.check_interval_s, claims
each one (a compare-and-set: one replica acts), and stops its principal:

1. closes the principal's scope (kind PRINCIPAL) as operator auto:dead_man_lease, through the
   scoped stops' close (audited with the trigger, the principal's approvals revoked). First,
   so that the principal can place nothing more while its orders are being cancelled;
2. cancels the orders livegate placed for that principal (the open orders whose key it wrote),
   each through the gate's cancel path to the writer's CancelOrder (an idempotency key per
   order and try, audited as CancelOrder by auto:dead_man_lease). Never another principal's
   orders, never the broker-wide cancel;
3. marks the lease stopped.

A try that could not cancel every order (writer unreachable, switch closed, ...) is retried on
the next tick with new keys (counted in livegate_dead_man_lapse_retries_total): fail closed,
the scope stays closed whatever happens. A replica refreshes its claim before each cancel; a
claim not refreshed for dead_man.claim_stale_s (a replica that died mid-way) is taken over.

Bounds (livegate_common.auto_stop_bounds.dead_man_lease_s): from the lapse, the scope is closed
within check_interval_s + 1 s; each open order is cancelled within one writer.deadline_s more.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Final

from prometheus_client import Counter

from livegate_common.scopes import KILLSWITCH_OPERATE, LIVE_CANCEL
from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.auto_stop import FIRED, METHOD
from policy_service.domain.commands import CancelCmd
from policy_service.domain.gate import Gate
from policy_service.domain.leases import Lease, LeaseSettings
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.scoped_stops import ScopedStops
from policy_service.domain.scopes import ScopeKind

log = logging.getLogger("livegate.policy.dead_man")

TRIGGER: Final = "dead_man_lease"
ACTOR: Final = f"auto:{TRIGGER}"
# Refusals of a cancel that leave nothing to cancel: the order is done at the broker.
_NOTHING_LEFT: Final = frozenset(
    {reasons.ORDER_FILLED_BEFORE_CANCEL, reasons.ORDER_NOT_FOUND, reasons.ORDER_NOT_MODIFIABLE}
)

RETRIES = Counter(
    "livegate_dead_man_lapse_retries_total",
    "Policy: tries at stopping a lapsed lease's principal that left work for the next tick",
)


def replica_id() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeadManWatch:
    """One tick (run) every check interval, on every replica; see the module's doc."""

    def __init__(
        self,
        gate: Gate,
        scoped: ScopedStops,
        settings: LeaseSettings,
        replica: str,
        accounts: Iterable[str],
        new_request_id: Callable[[], str],
    ):
        self._gate = gate
        self._scoped = scoped
        self._settings = settings
        self.replica = replica
        self._accounts = {gate.account_hash(a): a for a in accounts}
        self._new_request_id = new_request_id

    def run(self) -> int:
        """Claims and acts on the lapsed leases; how many were stopped this tick."""
        if not self._settings.enabled:
            return 0
        store = self._gate.store
        now = self._gate.clock.now_us()
        stale_before = now - int(self._settings.claim_stale_s * 1_000_000)
        try:
            held = store.claim_lapsed(self.replica, now, stale_before, self._new_request_id())
        except StoreUnavailable as exc:
            log.warning("lapsed leases not claimed", extra={"error": str(exc)[:200]})
            return 0
        return sum(1 for lease in held if self._stop(lease))

    def _stop(self, lease: Lease) -> bool:
        """True when LEASE's principal is stopped (scope closed, orders cancelled)."""
        try:
            done = self._act(lease)
        except StoreUnavailable as exc:
            log.warning("lapsed lease not acted on", extra={"error": str(exc)[:200]})
            done = False
        if not done:
            RETRIES.inc()
        return done

    def _act(self, lease: Lease) -> bool:
        store = self._gate.store
        if not lease.scope_closed_at_us:
            if not self._close_scope(lease):
                return False
            claimed = store.refresh_claim(
                lease, self._gate.clock.now_us(), scope_closed_at_us=self._gate.clock.now_us()
            )
            if claimed is None:
                return False  # taken over: the other replica goes on
            lease = claimed
        left = 0
        for account_hash, broker_order_id in store.principal_open_orders(lease.principal):
            claimed = store.refresh_claim(lease, self._gate.clock.now_us())
            if claimed is None:
                return False
            lease = claimed
            left += 0 if self._cancel(lease, account_hash, broker_order_id) else 1
        now = self._gate.clock.now_us()
        if left:
            store.refresh_claim(lease, now, attempts=lease.attempts + 1)
            log.warning(
                "lapsed lease: orders not cancelled yet, retried next tick",
                extra={"principal": lease.principal, "left": left, "attempt": lease.attempts},
            )
            return False
        stopped = store.refresh_claim(lease, now, stopped_at_us=now)
        if stopped is not None:
            lapsed_for = _ms(now - lease.expires_at_us)
            log.critical(
                "dead-man lease lapsed: principal stopped",
                extra={"principal": lease.principal, "lapsed_for_ms": lapsed_for},
            )
        return stopped is not None

    def _close_scope(self, lease: Lease) -> bool:
        now = self._gate.clock.now_us()
        call = m.Call(METHOD, lease.lapse_request_id, ACTOR, frozenset({KILLSWITCH_OPERATE}))
        evidence = {
            "auto_stop": TRIGGER,
            "evidence.principal": lease.principal,
            "evidence.ttl_s": f"{lease.ttl_s:g}",
            "evidence.renewed_at_us": str(lease.renewed_at_us),
            "evidence.expires_at_us": str(lease.expires_at_us),
            "evidence.lapsed_for_ms": _ms(now - lease.expires_at_us),
            "evidence.claimed_by": self.replica,
        }
        reason = (
            f"{reasons.AUTO_STOP_DEAD_MAN_LEASE}: the lease of {lease.principal} "
            f"(ttl {lease.ttl_s:g} s) was not renewed"
        )
        result = self._scoped.set(
            call, ScopeKind.PRINCIPAL, lease.principal, m.SwitchState.CLOSED, reason, evidence
        )
        if isinstance(result, m.Denial) and result.reason == reasons.SCOPE_PRINCIPAL_UNKNOWN:
            # The config no longer maps it: it cannot call at all, its orders still go.
            log.warning("lapsed lease of a principal no longer configured: no scope to close",
                        extra={"principal": lease.principal})  # fmt: skip
            return True
        if isinstance(result, m.Denial):
            log.critical(
                "dead-man lease: principal scope not closed",
                extra={"principal": lease.principal, "reason": result.reason},
            )
            return False
        FIRED.labels(trigger=TRIGGER).inc()
        log.critical(
            "automatic stop closed the principal's scope",
            extra={"trigger": TRIGGER, "principal": lease.principal,
                   "audit_event_id": result.audit_event_id},
        )  # fmt: skip
        return True

    def _cancel(self, lease: Lease, account_hash: str, broker_order_id: int) -> bool:
        """True when the order is cancelled or has nothing left to cancel."""
        account = self._accounts.get(account_hash)
        if account is None:
            # Not an allowed account any more: the gate would refuse it; the operator's
            # cancel-all (or the broker) is the way for it.
            log.error(
                "lapsed lease: order of an account no longer allowed left alone",
                extra={"principal": lease.principal, "broker_order_id": broker_order_id},
            )
            return True
        # The lapse's own key per order and try: a retry after a refusal is a new write.
        key = f"dm-{lease.expires_at_us}-{lease.attempts}-{broker_order_id}"
        call = m.Call("CancelOrder", lease.lapse_request_id, ACTOR, frozenset({LIVE_CANCEL}))
        result = self._gate.execute(call, CancelCmd(account, broker_order_id, key))
        if not isinstance(result, m.Denial):
            return True
        log.warning(
            "lapsed lease: cancel refused",
            extra={"principal": lease.principal, "broker_order_id": broker_order_id,
                   "reason": result.reason},
        )  # fmt: skip
        return result.reason in _NOTHING_LEFT


def _ms(us: int) -> str:
    return str(max(0, us) // 1000)
