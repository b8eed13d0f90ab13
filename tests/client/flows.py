"""Steps the client tests share: an approved preview, as the upstream and the approver."""

from __future__ import annotations

from decimal import Decimal

from livegate_client import Action, Approval, Client, Order, Preview

ACCOUNT = "U1234567"
# The simulator quotes AAPL 189.20/189.30: a buy limit at 189.00 rests inside the collar.
RESTING_BUY = Decimal("189.00")


def buy(qty: Decimal = Decimal(1), limit: Decimal = RESTING_BUY) -> Order:
    return Order.limit("AAPL", Action.BUY, qty, limit)


def approved(
    upstream: Client, approver: Client, order: Order | None = None
) -> tuple[Preview, Approval]:
    preview = upstream.create_order_preview(ACCOUNT, order or buy())
    return preview, approver.approve_preview(preview.preview_id)
