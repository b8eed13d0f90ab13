"""What a preview records beyond the quote: contract details, a collared market order, the
what-if margin, and every check's verdict (advisory: the submit checks again)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from policy_service.domain import limits, market_orders
from policy_service.domain import model as m
from policy_service.domain.denials import day_of
from policy_service.domain.duplicates import fingerprint
from policy_service.domain.legs import Leg
from policy_service.domain.planning import Plan
from policy_service.domain.ports import StoreUnavailable, WriterError
from policy_service.domain.reference import ContractDetails, Margin

if TYPE_CHECKING:
    from policy_service.domain.gate import Gate


@dataclass(frozen=True)
class Recorded:
    """The order as it would be sent, and what the preview keeps about it."""

    order: m.OrderSpec
    leg: Leg
    details: ContractDetails | None
    details_error: str
    margin: Margin | None
    margin_error: str
    requested_type: m.OrderType | None


def record(
    gate: Gate,
    call: m.Call,
    account_id: str,
    order: m.OrderSpec,
    quote: m.Quote,
    *,
    exit_leg: bool = False,
    intended_duplicate: bool = False,
    replaced_quantity: Decimal | None = None,
) -> Recorded:
    now = gate.clock.now_us()
    reference = quote.reference()
    found = gate.depth.reference.contract(order.instrument)
    details: ContractDetails | None = None
    details_error = ""
    if isinstance(found, ContractDetails):
        details = found
    else:
        details_error = found.reason or found.kind
    requested: m.OrderType | None = None
    allowed = gate.policy.limits_for(order.instrument)
    if (
        order.order_type is m.OrderType.MARKET
        and details is not None
        and reference is not None
        and allowed is not None
        and m.OrderType.MARKET in allowed.allowed_order_types
    ):
        limit = market_orders.collared(order, reference, allowed.price_collar_bps, details)
        if limit is not None:
            order, requested = limit, m.OrderType.MARKET
    adds: Decimal | None = Decimal(0) if exit_leg else None
    if replaced_quantity is not None:
        adds = max(Decimal(0), order.quantity - replaced_quantity)
    margin, margin_error = None, ""
    if gate.policy.min_excess_liquidity is not None and adds != 0:
        try:
            margin = gate.writer.preview_margin(call.request_id, account_id, order)
        except WriterError as err:
            margin_error = err.reason or err.kind
    age = Decimal(max(0, now - quote.as_of_us)) / Decimal(1_000_000)
    leg = Leg(
        order,
        reference,
        age,
        details=details,
        details_error=details_error,
        now_us=now,
        requested_type=requested,
        margin=margin,
        margin_error=margin_error,
        intended_duplicate=intended_duplicate,
        adds_quantity=adds,
    )
    return Recorded(order, leg, details, details_error, margin, margin_error, requested)


def checks(gate: Gate, call: m.Call, account_id: str, leg: Leg, kind: m.Kind) -> list[m.LimitCheck]:
    """Every stateless check, then the account's usage as it stands now (not reserved)."""
    out = list(limits.report(gate.policy, leg))
    now = leg.now_us
    blackout = gate.depth.blackout(False, now)
    out.append(_verdict("blackout_window", blackout))
    denial = _account(gate, call, account_id, leg, kind, now)
    out.append(_verdict("account_usage", denial))
    return out


def _account(
    gate: Gate, call: m.Call, account_id: str, leg: Leg, kind: m.Kind, now: int
) -> m.Denial | None:
    account_hash = gate.account_hash(account_id)
    new_orders = 0 if kind is m.Kind.MODIFY else 1
    plan = Plan(legs=[leg], notional=leg.notional, new_orders=new_orders)
    state = gate.depth.account_state(account_id, plan)
    if isinstance(state, m.Denial):
        return state
    mark = fingerprint(account_hash, leg) if new_orders else ""
    query = gate.depth.query(call, False, plan, mark, state, now)
    try:
        usage = gate.store.usage(account_hash, day_of(now), now, query)
    except StoreUnavailable:
        return None
    return (
        gate.depth.stopped(call, usage)
        or limits.check_usage(gate.policy, usage, new_orders, leg.notional, new_orders > 0)
        # One order message: a bracket's legs are previewed, and counted, one at a time.
        or gate.depth.usage_denial(1, plan, usage, state, now)
    )


def _verdict(name: str, denial: m.Denial | None) -> m.LimitCheck:
    if denial is None:
        return m.LimitCheck(name, True)
    return m.LimitCheck(name, False, denial.reason, dict(denial.metadata))


__all__ = ["Recorded", "checks", "record"]
