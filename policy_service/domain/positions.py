"""Position limits per account and instrument, and market-value exposure per account.

The broker's account state (positions, its working orders) is read before the pending
transaction; livegate's own orders that can still trade are read inside it, under the account's
lock, so two writes that together breach a bound cannot both pass. An order that only reduces
the worst-case position is never refused here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from livegate_common.metrics import observe_use
from policy_service import reasons
from policy_service.domain.denials import reference_unavailable
from policy_service.domain.legs import Leg
from policy_service.domain.model import Action, Denial
from policy_service.domain.reference import AccountState
from policy_service.domain.risk_policy import RiskPolicy
from policy_service.domain.usage import Exposure

STEP = 9


@dataclass(frozen=True)
class Projection:
    """Worst cases for one instrument if every working order on a side fills."""

    position: Decimal
    buys: Decimal
    sells: Decimal
    this_buy: Decimal
    this_sell: Decimal

    @property
    def net(self) -> Decimal:
        long = self.position + self.buys + self.this_buy
        short = self.position - self.sells - self.this_sell
        return max(abs(long), abs(short))

    @property
    def net_before(self) -> Decimal:
        return max(abs(self.position + self.buys), abs(self.position - self.sells))

    @property
    def gross(self) -> Decimal:
        return abs(self.position) + self.buys + self.sells + self.this_buy + self.this_sell

    @property
    def reduces(self) -> bool:
        return self.net <= self.net_before


def adds(leg: Leg) -> Decimal:
    """What the order can add to its instrument: all of it, or a modify's increase."""
    return leg.adds_quantity if leg.adds_quantity is not None else leg.order.quantity


def project(leg: Leg, state: AccountState, exposure: Sequence[Exposure]) -> Projection:
    assert leg.details is not None
    con_id = leg.details.con_id
    buys, sells = state.foreign_working(con_id)
    for row in exposure:
        if row.con_id == con_id:
            buys += row.buy
            sells += row.sell
    qty = adds(leg)
    buy = leg.order.action is Action.BUY
    return Projection(
        state.position(con_id), buys, sells, qty if buy else Decimal(0), Decimal(0) if buy else qty
    )


def position_denial(
    policy: RiskPolicy, legs: Sequence[Leg], state: AccountState, exposure: Sequence[Exposure]
) -> Denial | None:
    for leg in legs:
        limits = policy.limits_for(leg.order.instrument)
        if leg.details is None or limits is None:
            continue
        if limits.max_net_position is None and limits.max_gross_position is None:
            continue
        p = project(leg, state, exposure)
        numbers = {
            "con_id": leg.details.con_id,
            "position": p.position,
            "working_buy": p.buys,
            "working_sell": p.sells,
            "quantity": adds(leg),
        }
        for name, bound, value, reason, key in (
            ("max_net_position", limits.max_net_position, p.net,
             reasons.POSITION_LIMIT_EXCEEDED, "projected_net"),
            ("max_gross_position", limits.max_gross_position, p.gross,
             reasons.GROSS_POSITION_EXCEEDED, "projected_gross"),
        ):  # fmt: skip
            if bound is None:
                continue
            observe_use(name, value, bound)
            if value > bound and not p.reduces:
                return _deny(reason, f"{key} {value} > {bound}", **{name: bound, key: value},
                             **numbers)  # fmt: skip
    return None


def exposure_denial(
    policy: RiskPolicy, legs: Sequence[Leg], state: AccountState, exposure: Sequence[Exposure]
) -> Denial | None:
    """Positions' market value (the broker's) + livegate's orders' notional + this write's."""
    bound = policy.max_gross_exposure
    if bound is None:
        return None
    adding = [
        leg for leg in legs if leg.details is None or not project(leg, state, exposure).reduces
    ]
    if not adding:
        return None
    held = state.gross_position_value
    if held is None:
        return reference_unavailable("account_summary", "the broker reported no position value")
    working = sum((row.notional for row in exposure), Decimal(0))
    this = sum((_added_notional(leg) for leg in adding), Decimal(0))
    total = held + working + this
    observe_use("max_gross_exposure", total, bound)
    if total <= bound:
        return None
    return _deny(
        reasons.EXPOSURE_LIMIT_EXCEEDED,
        f"gross exposure {total} > {bound}",
        max_gross_exposure=bound,
        exposure=total,
        gross_position_value=held,
        working_notional=working,
        notional=this,
    )


def _added_notional(leg: Leg) -> Decimal:
    if leg.order.quantity == 0:
        return Decimal(0)
    return leg.notional * adds(leg) / leg.order.quantity


def _deny(reason: str, message: str, **numbers: object) -> Denial:
    return Denial(
        reason, "FAILED_PRECONDITION", STEP, message, {k: str(v) for k, v in numbers.items()}
    )
