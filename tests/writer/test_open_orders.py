"""ListOpenOrders: what still works at the broker, as the policy's open-orders count needs it."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest

from livegate_api.v1 import writer_pb2
from tests.support.net import wait_until
from tests.support.writers import ACCOUNT
from tests.writer.conftest import RunningWriter
from tests.writer.test_orders import limit_order, refusal, submit


def listed(running: RunningWriter, account: str = ACCOUNT) -> set[int]:
    reply = running.policy.ListOpenOrders(
        writer_pb2.ListOpenOrdersRequest(account_id=account), timeout=5
    )
    return set(reply.broker_order_ids)


def test_list_when_orders_rest_fill_or_cancel_then_only_the_resting_ones(
    running: RunningWriter,
) -> None:
    resting = submit(running, "key-rests").order.broker_order_id
    cancelled = submit(running, "key-cancelled").order.broker_order_id
    running.policy.CancelOrder(
        writer_pb2.WriterCancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=cancelled, idempotency_key="key-cancel"
        ),
        timeout=10,
    )
    # The simulator quotes 189.20/189.30: a buy limit above the ask fills at once.
    filled = submit(running, "key-fills", limit_order("1", "190.00")).order.broker_order_id
    assert wait_until(
        lambda: any(o.order_id == filled and o.status == "Filled" for o in running.sim.orders()),
        timeout_s=5,
    )
    assert wait_until(lambda: listed(running) == {resting}, timeout_s=5), listed(running)


def test_list_when_a_resting_order_fills_later_then_it_drops_out(running: RunningWriter) -> None:
    placed = submit(running, "key-later").order.broker_order_id
    assert placed in listed(running)
    # The market comes down through the buy limit (150.00): the broker fills it.
    running.sim.set_quote("AAPL", Decimal("149.00"), Decimal("149.50"), Decimal("149.50"))
    assert wait_until(lambda: placed not in listed(running), timeout_s=5)


def test_list_when_account_not_managed_then_refused(running: RunningWriter) -> None:
    with pytest.raises(grpc.RpcError) as err:
        listed(running, "U9999999")
    assert refusal(err)[0] == grpc.StatusCode.PERMISSION_DENIED


def test_list_when_reconciling_after_a_drop_then_unavailable_until_reconciled(
    running: RunningWriter,
) -> None:
    """Missing from the list means "gone" to the policy: never answer from a half-loaded view."""
    placed = submit(running, "key-listed").order.broker_order_id
    running.sim.set_delay(1.5)  # holds the reconnect's reconciliation queries open
    running.sim.drop_connections()
    assert wait_until(lambda: not running.handle.session.is_connected(), timeout_s=5)
    with pytest.raises(grpc.RpcError) as err:
        listed(running)
    assert refusal(err)[:2] == (grpc.StatusCode.UNAVAILABLE, "BROKER_UNAVAILABLE")
    running.sim.set_delay(0)
    assert wait_until(lambda: running.handle.session.is_connected(), timeout_s=20)
    assert wait_until(lambda: placed in listed(running), timeout_s=10)
