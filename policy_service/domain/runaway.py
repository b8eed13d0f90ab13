"""Fills from the broker: recorded per principal, and a runaway strategy's principal stopped.

N fills of one instrument within a window stop the principal whose orders filled: its writes
are refused at step 6 (PRINCIPAL_STOPPED; cancels still pass, they only reduce risk) until an
operator resets it. The operator-controls issue (18) will bring scoped stops; this keeps the
stop in its own table and behind one store call, so those can take it over.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from livegate_common.metrics import observe_use
from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.denials import scope_denial
from policy_service.domain.ports import StoreUnavailable, WriterError

if TYPE_CHECKING:
    from policy_service.domain.gate import Gate

log = logging.getLogger(__name__)
SCOPE = "killswitch.operate"
RUNAWAY = "RUNAWAY_FILLS"
# Fills are asked for again from a little before the newest one seen: a fill the writer hears
# late (a reconnect's executions query) is still recorded; recording is idempotent by exec id.
_OVERLAP_US = 60_000_000
_MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class PrincipalStop:
    principal: str
    reason: str
    stopped_at_us: int
    detail: dict[str, str] = field(default_factory=dict)
    reset_by: str = ""
    reset_at_us: int = 0
    audit_event_id: int = 0

    @property
    def active(self) -> bool:
        return not self.reset_by


def _day_start_us(now_us: int) -> int:
    day = dt.datetime.fromtimestamp(now_us / 1e6, tz=dt.UTC).date()
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp() * 1_000_000)


class FillWatch:
    """One pass per allowed account: record new fills and status changes (audited, see
    order_life), stop principals that run away."""

    def __init__(self, gate: Gate, accounts: Iterable[str], account_hash: Callable[[str], str]):
        self._gate = gate
        self._accounts = sorted(accounts)
        self._hash = account_hash
        self._since: dict[str, int] = {}
        self._status_since: dict[str, int] = {}

    def run(self) -> int:
        """How many principals this pass stopped."""
        return sum(self._account(account) for account in self._accounts)

    def _account(self, account: str) -> int:
        gate = self._gate
        now = gate.clock.now_us()
        since = self._since.get(account, _day_start_us(now))
        try:
            # Refreshed from the broker: executions the writer's session did not hear live
            # (a reconnect, an order placed elsewhere) reach the audit trail too.
            fills = gate.writer.fills(account, since, refresh=True)
        except WriterError as err:
            log.info("fills not read from the writer", extra={"reason": err.reason})
            return 0
        account_hash = self._hash(account)
        try:
            gate.store.record_fills(account_hash, fills, now)
        except StoreUnavailable as exc:
            log.warning("fills not recorded", extra={"error": str(exc)[:200]})
            return 0
        if fills:
            self._since[account] = max(f.time_us for f in fills) - _OVERLAP_US
        self._statuses(account, account_hash, now)
        return self._stop_runaways(account_hash, now)

    def _statuses(self, account: str, account_hash: str, now: int) -> None:
        """After the fills (a fill's event before its order's Filled): status changes."""
        gate = self._gate
        # From a little before the newest change seen, by the writer's clock (as fills): the
        # first pass after a start lists every order of the session.
        since = self._status_since.get(account, 0)
        try:
            reports = gate.writer.order_statuses(account, since)
            gate.store.record_statuses(account_hash, reports, now)
        except WriterError as err:
            log.info("order statuses not read from the writer", extra={"reason": err.reason})
            return
        except StoreUnavailable as exc:
            log.warning("order statuses not recorded", extra={"error": str(exc)[:200]})
            return
        seen = max((r.changed_at_us for r in reports), default=0)
        if seen:
            self._status_since[account] = max(since, seen - _OVERLAP_US)

    def _stop_runaways(self, account_hash: str, now: int) -> int:
        gate = self._gate
        limit = gate.policy.runaway_max_fills
        if limit is None:
            return 0
        window_start = now - int(gate.policy.runaway_window_s * _MICROS)
        try:
            recent = gate.store.recent_fills(account_hash, window_start)
            stops = {s.principal: s for s in gate.store.principal_stops()}
        except StoreUnavailable:
            return 0
        counts: Counter[tuple[str, int]] = Counter()
        for principal, con_id, time_us in recent:
            stop = stops.get(principal)
            if stop is not None and (stop.active or time_us < stop.reset_at_us):
                continue  # stopped already, or a fill the operator's reset has let go
            counts[(principal, con_id)] += 1
        observe_use("runaway_max_fills", max(counts.values(), default=0), limit)
        stopped = 0
        for (principal, con_id), fills in sorted(counts.items()):
            current = stops.get(principal)
            if fills < limit or (current is not None and current.active):
                continue
            stopped += self._stop(principal, con_id, fills, limit, now)
            stops[principal] = PrincipalStop(principal, RUNAWAY, now)
        return stopped

    def _stop(self, principal: str, con_id: int, fills: int, limit: int, now: int) -> int:
        gate = self._gate
        detail = {
            "fills": str(fills),
            "max_fills": str(limit),
            "window_s": str(gate.policy.runaway_window_s),
            "con_id": str(con_id),
        }
        call = m.Call("PrincipalStop", f"runaway-{now}", principal, frozenset())
        draft = gate.draft(call, "RECORDED", None, gate_step=0, detail=detail)
        try:
            done = gate.store.stop_principal(PrincipalStop(principal, RUNAWAY, now, detail), draft)
        except StoreUnavailable:
            log.critical("runaway fills seen but the principal could not be stopped",
                         extra={"principal": principal})  # fmt: skip
            return 0
        if done:
            log.critical(
                "principal stopped: runaway fills", extra={"principal": principal, **detail}
            )
        return 1 if done else 0


def stop_denial(principal: str, reason: str, stopped_at_us: int) -> m.Denial:
    return m.Denial(
        reasons.PRINCIPAL_STOPPED,
        "FAILED_PRECONDITION",
        6,
        f"principal {principal} is stopped ({reason}); an operator must reset it",
        {"principal": principal, "stop_reason": reason, "stopped_at_us": str(stopped_at_us)},
    )


def reset(gate: Gate, call: m.Call, principal: str, why: str) -> PrincipalStop | m.Denial:
    """The operator's reset: the principal writes again; fills before now no longer count."""
    denial = scope_denial(call, SCOPE)
    if denial is not None:
        return gate.refuse(call, denial)
    now = gate.clock.now_us()
    draft = gate.draft(call, "RECORDED", None, gate_step=0,
                       detail={"stopped_principal": principal, "reason": why})  # fmt: skip
    try:
        stop = gate.store.reset_principal_stop(principal, call.principal, draft, now)
    except StoreUnavailable:
        return m.Denial(reasons.AUDIT_UNAVAILABLE, "UNAVAILABLE", 7, "storage unavailable")
    if stop is None:
        return gate.refuse(
            call,
            m.Denial(
                reasons.PRINCIPAL_NOT_STOPPED,
                "NOT_FOUND",
                0,
                f"principal {principal} is not stopped",
                {"principal": principal},
            ),
        )
    return stop
