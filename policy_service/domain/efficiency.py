"""IBKR's order efficiency ratio: the day's order messages per executed order, per account."""

from __future__ import annotations

from decimal import Decimal

from livegate_common.metrics import observe_use
from policy_service import reasons
from policy_service.domain.model import Denial
from policy_service.domain.usage import Usage


def ratio(messages: int, executed: int) -> Decimal:
    """Messages (submits, modifies, cancels) per executed order; no execution counts as one."""
    return (Decimal(messages) / Decimal(max(executed, 1))).quantize(Decimal("0.01"))


def efficiency_denial(
    ceiling: Decimal, min_orders: int, usage: Usage, new_messages: int
) -> Denial | None:
    """A new order that would lift the ratio over the ceiling is refused; the ratio only counts
    once the day has MIN_ORDERS messages (IBKR judges accounts above a minimum activity)."""
    messages = usage.messages_today + new_messages
    value = ratio(messages, usage.executed_today)
    observe_use("max_order_efficiency_ratio", value, ceiling)
    if messages < min_orders or value <= ceiling:
        return None
    return Denial(
        reasons.ORDER_EFFICIENCY_RATIO_EXCEEDED,
        "FAILED_PRECONDITION",
        9,
        f"order efficiency ratio {value} > {ceiling}",
        {
            "max_ratio": str(ceiling),
            "ratio": str(value),
            "messages_today": str(messages),
            "executed_today": str(usage.executed_today),
        },
    )
