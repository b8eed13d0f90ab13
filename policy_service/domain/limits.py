"""Risk-limit checks: each takes the policy and one leg, returns a Denial or None."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from policy_service import reasons
from policy_service.domain.model import Denial, LimitCheck, OrderSpec
from policy_service.domain.risk_policy import RiskPolicy

STEP = 9
_CODE = "FAILED_PRECONDITION"


def _deny(reason: str, message: str, **numbers: object) -> Denial:
    return Denial(reason, _CODE, STEP, message, {k: str(v) for k, v in numbers.items()})


@dataclass(frozen=True)
class Leg:
    """One order as the limits see it, with the reference price and its age."""

    order: OrderSpec
    reference_price: Decimal | None
    reference_age_s: Decimal

    @property
    def notional(self) -> Decimal:
        price = self.order.price_for_notional(self.reference_price) or Decimal(0)
        return self.order.quantity * price


def check_instrument(policy: RiskPolicy, leg: Leg) -> Denial | None:
    ins = leg.order.instrument
    if ins.sec_type not in policy.allowed_sec_types:
        allowed = ",".join(sorted(s.value for s in policy.allowed_sec_types))
        return _deny(
            reasons.SEC_TYPE_NOT_ALLOWED,
            f"sec type {ins.sec_type} not allowed",
            sec_type=ins.sec_type.value,
            allowed=allowed,
        )
    if policy.allowed_symbols and ins.symbol not in policy.allowed_symbols:
        return _deny(reasons.SYMBOL_NOT_ALLOWED, f"{ins.symbol} not allowed", symbol=ins.symbol)
    return None


def check_quantity(policy: RiskPolicy, leg: Leg) -> Denial | None:
    if leg.order.quantity > policy.max_quantity:
        return _deny(
            reasons.QUANTITY_EXCEEDS_MAX,
            f"quantity {leg.order.quantity} > {policy.max_quantity}",
            max_quantity=policy.max_quantity,
            quantity=leg.order.quantity,
        )
    return None


def check_reference(policy: RiskPolicy, leg: Leg) -> Denial | None:
    if leg.reference_price is None:
        return _deny(reasons.REFERENCE_PRICE_MISSING, "no reference price for the instrument")
    if leg.reference_age_s > policy.max_reference_age_s:
        return _deny(
            reasons.REFERENCE_PRICE_STALE,
            f"reference price is {leg.reference_age_s}s old",
            max_age_s=policy.max_reference_age_s,
            age_s=leg.reference_age_s,
        )
    return None


def check_notional(policy: RiskPolicy, leg: Leg) -> Denial | None:
    notional = leg.notional
    if notional > policy.max_notional_per_order:
        return _deny(
            reasons.NOTIONAL_EXCEEDS_MAX_PER_ORDER,
            f"notional {notional} > {policy.max_notional_per_order}",
            max_notional=policy.max_notional_per_order,
            notional=notional,
        )
    return None


def check_collar(policy: RiskPolicy, leg: Leg) -> Denial | None:
    reference = leg.reference_price
    if reference is None or reference <= 0:
        return None  # check_reference already refused a missing reference
    for price in (leg.order.limit_price, leg.order.stop_price):
        if price is None:
            continue
        deviation_bps = (abs(price - reference) / reference * 10_000).quantize(Decimal("0.01"))
        if deviation_bps > policy.price_collar_bps:
            return _deny(
                reasons.PRICE_OUTSIDE_COLLAR,
                f"price {price} is {deviation_bps} bps from reference {reference}",
                collar_bps=policy.price_collar_bps,
                deviation_bps=deviation_bps,
                price=price,
                reference_price=reference,
            )
    return None


# Stateless checks in the order they run; the first denial wins.
LEG_CHECKS: tuple[tuple[str, Callable[[RiskPolicy, Leg], Denial | None]], ...] = (
    ("instrument_allowed", check_instrument),
    ("max_quantity", check_quantity),
    ("reference_price", check_reference),
    ("max_notional_per_order", check_notional),
    ("price_collar", check_collar),
)


def first_denial(policy: RiskPolicy, legs: list[Leg]) -> Denial | None:
    for leg in legs:
        for _, check in LEG_CHECKS:
            denial = check(policy, leg)
            if denial is not None:
                return denial
    return None


def report(policy: RiskPolicy, leg: Leg) -> tuple[LimitCheck, ...]:
    """Every stateless check's verdict for a preview (all run, none short-circuits)."""
    out: list[LimitCheck] = []
    for name, check in LEG_CHECKS:
        denial = check(policy, leg)
        if denial is None:
            out.append(LimitCheck(name=name, passed=True))
        else:
            out.append(LimitCheck(name, False, denial.reason, dict(denial.metadata)))
    return tuple(out)


@dataclass(frozen=True)
class Usage:
    """What the account has used, read under the account lock inside the pending transaction."""

    orders_last_minute: int
    open_orders: int
    daily_notional: Decimal


def check_usage(
    policy: RiskPolicy, usage: Usage, new_orders: int, notional: Decimal, counts_as_open: bool
) -> Denial | None:
    """Rate (every write counts), open orders (new orders only) and daily notional."""
    if usage.orders_last_minute + 1 > policy.max_orders_per_minute:
        return _deny(
            reasons.ORDER_RATE_EXCEEDED,
            f"{usage.orders_last_minute} writes in the last minute",
            max_per_minute=policy.max_orders_per_minute,
            count=usage.orders_last_minute,
        )
    if counts_as_open and usage.open_orders + new_orders > policy.max_open_orders:
        return _deny(
            reasons.OPEN_ORDERS_EXCEEDED,
            f"{usage.open_orders} open + {new_orders} new > {policy.max_open_orders}",
            max_open_orders=policy.max_open_orders,
            open_orders=usage.open_orders,
            new_orders=new_orders,
        )
    if notional > 0 and usage.daily_notional + notional > policy.max_daily_notional:
        return _deny(
            reasons.DAILY_NOTIONAL_EXCEEDED,
            f"{usage.daily_notional} used + {notional} > {policy.max_daily_notional}",
            max_daily_notional=policy.max_daily_notional,
            used=usage.daily_notional,
            notional=notional,
        )
    return None
