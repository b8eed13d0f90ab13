"""Market orders go out as marketable limits: the reference price plus the collar, on the tick."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from policy_service.domain.model import Action, OrderSpec, OrderType
from policy_service.domain.reference import ContractDetails


def collared(
    order: OrderSpec, reference: Decimal, collar_bps: Decimal, details: ContractDetails
) -> OrderSpec | None:
    """The LIMIT order a MARKET order is sent as; None when no positive price can be had.

    A buy pays at most the reference plus the collar, a sell takes at least the reference less
    the collar: each rounded to the tick towards the reference, so the price stays inside the
    collar the limit checks apply, and still crosses the spread like a market order would.
    """
    buy = order.action is Action.BUY
    edge = reference * (1 + collar_bps / 10_000 * (1 if buy else -1))
    tick = details.tick_at(edge)
    steps = (edge / tick).to_integral_value(rounding=ROUND_FLOOR if buy else ROUND_CEILING)
    price = steps * tick
    if price <= 0:
        return None
    return replace(order, order_type=OrderType.LIMIT, limit_price=price, stop_price=None)
