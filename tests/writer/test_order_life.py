"""The writer's reads for the audit trail: fills with commission and cumulative, order statuses."""

from __future__ import annotations

import time
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp

from livegate_api.v1 import writer_pb2
from tests.support.net import wait_until
from tests.support.writers import ACCOUNT
from tests.writer.conftest import RunningWriter
from tests.writer.test_orders import limit_order, submit


def _statuses(running: RunningWriter, since_s: int = 0) -> list[writer_pb2.OrderStatusReport]:
    request = writer_pb2.ListOrderStatusesRequest(account_id=ACCOUNT)
    if since_s:
        request.since.CopyFrom(Timestamp(seconds=since_s))
    return list(running.policy.ListOrderStatuses(request, timeout=10).orders)


def _fills(running: RunningWriter) -> list[writer_pb2.Fill]:
    request = writer_pb2.ListFillsRequest(account_id=ACCOUNT, refresh=True)
    return list(running.policy.ListFills(request, timeout=10).fills)


def test_list_order_statuses_when_asked_since_a_time_then_only_orders_that_changed_after_it(
    running: RunningWriter,
) -> None:
    placed = submit(running, "k-status-1", limit_order("5", "150.00")).order
    [report] = _statuses(running)
    assert (report.broker_order_id, report.order_ref, report.status) == (
        placed.broker_order_id, "k-status-1", "Submitted",
    )  # fmt: skip
    assert (report.filled, report.remaining) == ("0", "5") and report.changed_at.seconds > 0

    later = int(time.time()) + 3600
    assert _statuses(running, since_s=later) == []
    running.sim.fill(order_ref="k-status-1", quantity=Decimal(5))
    assert wait_until(lambda: [r.status for r in _statuses(running)] == ["Filled"])
    assert _statuses(running, since_s=report.changed_at.seconds)[0].filled == "5"


def test_list_fills_when_partly_filled_then_cumulative_order_quantity_and_commission_reported(
    running: RunningWriter,
) -> None:
    submit(running, "k-fills-1", limit_order("5", "150.00"))
    running.sim.fill(order_ref="k-fills-1", quantity=Decimal(2))
    assert wait_until(lambda: len(_fills(running)) == 1 and _fills(running)[0].commission != "")
    [fill] = _fills(running)
    assert (fill.order_ref, fill.quantity, fill.cum_quantity, fill.order_quantity) == (
        "k-fills-1", "2", "2", "5",
    )  # fmt: skip
    assert Decimal(fill.commission) == Decimal("1.00")
