"""The incident report's order-life sections: the selected orders' fills and status changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from livegate_api.v1 import policy_pb2

# The policy's events of an order's life (policy_service.domain.order_life).
FILL_METHOD: Final = "OrderFill"
COMMISSION_METHOD: Final = "OrderCommission"
STATUS_METHOD: Final = "OrderStatus"
PENDING: Final = "(not reported yet)"


def _stamp(event: policy_pb2.AuditEvent) -> str:
    return event.occurred_at.ToDatetime().isoformat(timespec="milliseconds") + "Z"


def _commission(event: policy_pb2.AuditEvent, later: dict[str, str]) -> str:
    exec_id = event.detail.get("exec_id", "")
    return event.detail.get("commission", "") or later.get(exec_id, "") or PENDING


def fills_section(events: Sequence[policy_pb2.AuditEvent]) -> list[str]:
    """Markdown lines for the fills among EVENTS (none: no section)."""
    fills = [e for e in events if e.method == FILL_METHOD]
    if not fills:
        return []
    # A commission IB reported after its execution is a later event of its own.
    later = {
        e.detail.get("exec_id", ""): e.detail.get("commission", "")
        for e in events
        if e.method == COMMISSION_METHOD
    }
    lines = [
        "## Fills",
        "",
        "| recorded (UTC) | exec id | broker order id | idempotency key | side | quantity "
        "| price | commission | cumulative filled | event id |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in fills:
        d = e.detail
        key = e.idempotency_key or f"(not livegate's: orderRef {d.get('order_ref', '')!r})"
        cells = (
            _stamp(e), d.get("exec_id", ""), str(e.broker_order_id), key, d.get("action", ""),
            d.get("quantity", ""), d.get("price", ""), _commission(e, later),
            d.get("cum_quantity", ""), str(e.event_id),
        )  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def statuses_section(events: Sequence[policy_pb2.AuditEvent]) -> list[str]:
    """Markdown lines for the status changes among EVENTS (none: no section)."""
    changes = [e for e in events if e.method == STATUS_METHOD]
    if not changes:
        return []
    lines = [
        "## Order status",
        "",
        "| recorded (UTC) | broker order id | idempotency key | status | was | filled | remaining "
        "| event id |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in changes:
        d = e.detail
        cells = (
            _stamp(e), str(e.broker_order_id), e.idempotency_key, d.get("status", ""),
            d.get("previous_status", "") or "-", d.get("filled", ""), d.get("remaining", ""),
            str(e.event_id),
        )  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines
