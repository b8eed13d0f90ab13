"""The gate's risk checks at depth (issue 19), one call each at its step.

Step 9 before the pending row: blackout windows (every write but a cancel), and the broker's
account state for the position and exposure limits (read through the writer, cached). Inside
step 10's transaction, under the account's lock: a stopped principal (reported as step 6), then
positions, exposure, duplicates and the order efficiency ratio, so that two writes which
together breach a bound cannot both pass, on one replica or several.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policy_service.domain import duplicates, efficiency, positions, sessions
from policy_service.domain import model as m
from policy_service.domain.commands import BracketCmd, Command, ModifyCmd
from policy_service.domain.legs import Leg
from policy_service.domain.planning import Plan
from policy_service.domain.reference import AccountState
from policy_service.domain.reference_cache import ReferenceData
from policy_service.domain.runaway import stop_denial
from policy_service.domain.usage import Usage, UsageQuery

if TYPE_CHECKING:
    from policy_service.domain.gate import Gate

_MICROS = Decimal(1_000_000)


def messages(cmd: Command) -> int:
    """Order messages a write sends (IBKR's ratio counts each order of a bracket)."""
    return 3 if isinstance(cmd, BracketCmd) else 1


def _entry(plan: Plan) -> Leg | None:
    """The leg that can add to a position: the order, a modify's replacement, a bracket's
    parent (its exits only close what it opens)."""
    return plan.legs[0] if plan.legs else None


class Depth:
    def __init__(self, gate: Gate):
        self._gate = gate
        self.reference = ReferenceData(gate.writer, gate.clock, gate.policy)

    def blackout(self, cancel: bool, now_us: int) -> m.Denial | None:
        if cancel:
            return None
        return sessions.blackout_denial(self._gate.settings.blackouts, now_us)

    def account_state(self, account_id: str, plan: Plan) -> AccountState | m.Denial | None:
        """The broker's account state when a position or exposure limit applies, else None."""
        entry = _entry(plan)
        if not self._gate.policy.positions_limited or entry is None:
            return None
        if positions.adds(entry) == 0:
            return None
        return self.reference.account(account_id)

    def pending_fields(
        self, call: m.Call, cmd: Command, plan: Plan, account_hash: str
    ) -> dict[str, Any]:
        """What the pending row records for the checks of later writes."""
        fields: dict[str, Any] = {"principal": call.principal, "messages": messages(cmd)}
        entry = _entry(plan)
        if entry is None:
            return fields
        if entry.details is not None:
            qty = positions.adds(entry)
            buy = entry.order.action is m.Action.BUY
            fields.update(
                con_id=entry.details.con_id,
                buy_qty=qty if buy else Decimal(0),
                sell_qty=Decimal(0) if buy else qty,
            )
        if isinstance(cmd, ModifyCmd):
            fields["modifies_order"] = cmd.broker_order_id
        elif plan.new_orders:
            fields["fingerprint"] = duplicates.fingerprint(account_hash, entry)
        return fields

    def query(
        self,
        call: m.Call,
        cancel: bool,
        plan: Plan,
        fingerprint: str,
        state: AccountState | None,
        now_us: int,
    ) -> UsageQuery:
        policy = self._gate.policy
        entry = _entry(plan)
        duplicate_since = 0
        window = policy.duplicate_window_s
        if window and fingerprint and entry is not None and not entry.intended_duplicate:
            duplicate_since = now_us - int(window * _MICROS)
        return UsageQuery(
            principal="" if cancel else call.principal,
            fingerprint=fingerprint,
            duplicate_since_us=duplicate_since,
            exposure_since_us=state.asked_at_us if state is not None else None,
            efficiency=policy.max_order_efficiency_ratio is not None and plan.new_orders > 0,
        )

    def stopped(self, call: m.Call, usage: Usage) -> m.Denial | None:
        """Step 6, read with the pending row: a principal stopped for runaway fills."""
        if usage.stop is None:
            return None
        return stop_denial(call.principal, usage.stop.reason, usage.stop.stopped_at_us)

    def usage_denial(
        self,
        new_messages: int,
        plan: Plan,
        usage: Usage,
        state: AccountState | None,
        now_us: int,
    ) -> m.Denial | None:
        policy = self._gate.policy
        if state is not None:
            denial = positions.position_denial(policy, plan.legs, state, usage.exposure)
            denial = denial or positions.exposure_denial(policy, plan.legs, state, usage.exposure)
            if denial is not None:
                return denial
        if policy.duplicate_window_s is not None:
            denial = duplicates.duplicate_denial(policy.duplicate_window_s, usage.duplicate, now_us)
            if denial is not None:
                return denial
        ceiling = policy.max_order_efficiency_ratio
        if ceiling is not None and plan.new_orders > 0:
            return efficiency.efficiency_denial(ceiling, policy.oer_min_orders, usage, new_messages)
        return None
