"""Risk-limit checks: each takes the policy and one leg, returns a Denial or None."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from livegate_common.metrics import observe_use
from policy_service import reasons
from policy_service.domain import sessions
from policy_service.domain.denials import reference_unavailable
from policy_service.domain.instrument_policy import InstrumentLimits
from policy_service.domain.legs import Leg
from policy_service.domain.model import Denial, LimitCheck
from policy_service.domain.risk_policy import RiskPolicy
from policy_service.domain.usage import Usage

__all__ = ["LEG_CHECKS", "Leg", "Usage", "check_usage", "first_denial", "report"]

STEP = 9
_CODE = "FAILED_PRECONDITION"
_MICROS = Decimal(1_000_000)


def _deny(reason: str, message: str, **numbers: object) -> Denial:
    return Denial(reason, _CODE, STEP, message, {k: str(v) for k, v in numbers.items()})


def _limits(policy: RiskPolicy, leg: Leg) -> InstrumentLimits:
    """The limits LEG trades under (the globals when none: check_instrument refuses those)."""
    return policy.limits_for(leg.order.instrument) or policy.defaults()


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
    if policy.limits_for(ins) is None:
        return _deny(
            reasons.SYMBOL_NOT_ALLOWED,
            f"{ins.symbol} {ins.sec_type} is not named by the risk policy",
            symbol=ins.symbol,
            sec_type=ins.sec_type.value,
        )
    return None


def check_order_type(policy: RiskPolicy, leg: Leg) -> Denial | None:
    allowed = _limits(policy, leg).allowed_order_types
    if leg.order_type in allowed:
        return None
    return _deny(
        reasons.ORDER_TYPE_NOT_ALLOWED,
        f"{leg.order_type} orders are not allowed for {leg.order.instrument.symbol}",
        order_type=leg.order_type.value,
        allowed=",".join(sorted(t.value for t in allowed)),
    )


def check_reference_data(policy: RiskPolicy, leg: Leg) -> Denial | None:
    if leg.details is None:
        return reference_unavailable(
            "contract_details",
            "the broker's contract details could not be had",
            writer_reason=leg.details_error or "NONE",
        )
    age_s = Decimal(max(0, leg.now_us - leg.details.as_of_us)) / _MICROS
    observe_use("max_contract_details_age_s", age_s, policy.max_contract_details_age_s)
    if age_s > policy.max_contract_details_age_s:
        return _deny(
            reasons.REFERENCE_DATA_STALE,
            f"contract details are {age_s}s old",
            data="contract_details",
            max_age_s=policy.max_contract_details_age_s,
            age_s=age_s.quantize(Decimal("0.001")),
        )
    return None


def check_quantity(policy: RiskPolicy, leg: Leg) -> Denial | None:
    bound = _limits(policy, leg).max_quantity
    observe_use("max_quantity", leg.order.quantity, bound)
    if leg.order.quantity > bound:
        return _deny(
            reasons.QUANTITY_EXCEEDS_MAX,
            f"quantity {leg.order.quantity} > {bound}",
            max_quantity=bound,
            quantity=leg.order.quantity,
        )
    return None


def check_tick(policy: RiskPolicy, leg: Leg) -> Denial | None:
    """Every price on the broker's increment for that price (its market rule), not a fixed cent."""
    if leg.details is None:
        return None  # check_reference_data refused already
    for field, price in (
        ("limit_price", leg.order.limit_price),
        ("stop_price", leg.order.stop_price),
    ):
        if price is None:
            continue
        tick = leg.details.tick_at(price)
        if price % tick != 0:
            return _deny(
                reasons.PRICE_NOT_ON_TICK,
                f"{field} {price} is not a multiple of {tick}",
                field=field,
                price=price,
                tick=tick,
            )
    return None


def check_reference(policy: RiskPolicy, leg: Leg) -> Denial | None:
    if leg.reference_price is None:
        return _deny(reasons.REFERENCE_PRICE_MISSING, "no reference price for the instrument")
    observe_use("max_reference_age_s", leg.reference_age_s, policy.max_reference_age_s)
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
    bound = _limits(policy, leg).max_notional_per_order
    observe_use("max_notional_per_order", notional, bound)
    if notional > bound:
        return _deny(
            reasons.NOTIONAL_EXCEEDS_MAX_PER_ORDER,
            f"notional {notional} > {bound}",
            max_notional=bound,
            notional=notional,
            multiplier=leg.multiplier,
        )
    return None


def check_collar(policy: RiskPolicy, leg: Leg) -> Denial | None:
    reference = leg.reference_price
    if reference is None or reference <= 0:
        return None  # check_reference already refused a missing reference
    collar = _limits(policy, leg).price_collar_bps
    for price in (leg.order.limit_price, leg.order.stop_price):
        if price is None:
            continue
        deviation_bps = (abs(price - reference) / reference * 10_000).quantize(Decimal("0.01"))
        observe_use("price_collar_bps", deviation_bps, collar)
        if deviation_bps > collar:
            return _deny(
                reasons.PRICE_OUTSIDE_COLLAR,
                f"price {price} is {deviation_bps} bps from reference {reference}",
                collar_bps=collar,
                deviation_bps=deviation_bps,
                price=price,
                reference_price=reference,
            )
    return None


def check_session(policy: RiskPolicy, leg: Leg) -> Denial | None:
    if leg.details is None:
        return None
    allowed = _limits(policy, leg).allow_outside_rth
    return sessions.session_denial(leg.details, leg.now_us, leg.order.outside_rth, allowed)


def check_margin(policy: RiskPolicy, leg: Leg) -> Denial | None:
    """Excess liquidity after the order, per the broker's what-if, at or above the floor."""
    floor = policy.min_excess_liquidity
    if floor is None or leg.adds_quantity == 0:
        return None  # no floor, or a bracket's exit: it only closes what its entry opens
    excess = leg.margin.excess_after if leg.margin is not None else None
    if excess is None:
        return reference_unavailable(
            "margin",
            "the broker's what-if margin could not be had",
            writer_reason=leg.margin_error or "NONE",
        )
    observe_use("min_excess_liquidity", floor, excess)
    if excess < floor:
        margin = leg.margin
        assert margin is not None
        return _deny(
            reasons.MARGIN_INSUFFICIENT,
            f"excess liquidity after the order {excess} < {floor}",
            min_excess_liquidity=floor,
            excess_liquidity_after=excess,
            init_margin_change=margin.init_change if margin.init_change is not None else "",
            maint_margin_after=margin.maint_after if margin.maint_after is not None else "",
        )
    return None


# Stateless checks in the order they run; the first denial wins.
LEG_CHECKS: tuple[tuple[str, Callable[[RiskPolicy, Leg], Denial | None]], ...] = (
    ("instrument_allowed", check_instrument),
    ("order_type_allowed", check_order_type),
    ("reference_data", check_reference_data),
    ("max_quantity", check_quantity),
    ("price_tick", check_tick),
    ("reference_price", check_reference),
    ("max_notional_per_order", check_notional),
    ("price_collar", check_collar),
    ("trading_session", check_session),
    ("margin", check_margin),
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


def check_usage(
    policy: RiskPolicy, usage: Usage, new_orders: int, notional: Decimal, counts_as_open: bool
) -> Denial | None:
    """Rate (every write counts), open orders (new orders only) and daily notional."""
    observe_use("max_orders_per_minute", usage.orders_last_minute + 1, policy.max_orders_per_minute)
    if usage.orders_last_minute + 1 > policy.max_orders_per_minute:
        return _deny(
            reasons.ORDER_RATE_EXCEEDED,
            f"{usage.orders_last_minute} writes in the last minute",
            max_per_minute=policy.max_orders_per_minute,
            count=usage.orders_last_minute,
        )
    if counts_as_open:
        observe_use("max_open_orders", usage.open_orders + new_orders, policy.max_open_orders)
    if counts_as_open and usage.open_orders + new_orders > policy.max_open_orders:
        return _deny(
            reasons.OPEN_ORDERS_EXCEEDED,
            f"{usage.open_orders} open + {new_orders} new > {policy.max_open_orders}",
            max_open_orders=policy.max_open_orders,
            open_orders=usage.open_orders,
            new_orders=new_orders,
        )
    if notional > 0:
        used = usage.daily_notional + notional
        observe_use("max_daily_notional", used, policy.max_daily_notional)
    if notional > 0 and usage.daily_notional + notional > policy.max_daily_notional:
        return _deny(
            reasons.DAILY_NOTIONAL_EXCEEDED,
            f"{usage.daily_notional} used + {notional} > {policy.max_daily_notional}",
            max_daily_notional=policy.max_daily_notional,
            used=usage.daily_notional,
            notional=notional,
        )
    return None
