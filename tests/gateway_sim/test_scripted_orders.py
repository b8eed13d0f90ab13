"""Scripted placements: messages around the ack, rejects, holds, false cancels, silence, fills."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ib_async import LimitOrder, Stock

from gateway_sim import GatewaySimulator, Msg, OrderScript
from gateway_sim.faults import MESSAGE_TEXTS
from tests.gateway_sim.helpers import (
    Clients,
    Errors,
    completed_refs,
    executed,
    log_of,
    open_refs,
    order_errors,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")
# Rests: the AAPL ask is 190.10, so a buy at 150 never crosses on its own.
RESTING = 150
QUIET_S = 0.4  # how long "nothing arrives" is watched for


def test_script_orders_when_work_with_messages_then_warnings_around_the_ack_and_order_rests(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.script_orders(OrderScript(before_ack=(Msg(2109),), after_ack=(Msg(399),)))
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, RESTING, orderRef="w", outsideRth=True))
    assert wait_until(ib, lambda: len(trade.log) == 4)
    # ib_async files both as warnings: ValidationError, an active status, never Cancelled.
    assert log_of(trade) == [
        ("PendingSubmit", 0),
        ("ValidationError", 2109),
        ("Submitted", 0),
        ("ValidationError", 399),
    ]
    oid = trade.order.orderId
    assert [(e[0], e[1]) for e in order_errors(errors)] == [(oid, 2109), (oid, 399)]
    assert order_errors(errors)[0][2] == MESSAGE_TEXTS[2109]
    assert order_errors(errors)[1][2].startswith(
        "Order Message:\nBUY 10 AAPL NASDAQ.NMS\nWarning: Your order"
    )
    assert open_refs(ib) == {"w": ("Submitted", 0.0, 10.0)}


def test_script_orders_when_reject_then_messages_only_and_broker_holds_nothing(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.script_orders(OrderScript(before_ack=(Msg(201),), outcome="reject"))
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, 200, orderRef="r"))  # would fill
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert log_of(trade) == [("PendingSubmit", 0), ("Cancelled", 201)]
    assert order_errors(errors) == [(trade.order.orderId, 201, MESSAGE_TEXTS[201])]
    assert (open_refs(ib), completed_refs(ib), executed(ib)) == ({}, {}, [])
    assert sim.orders() == []


def test_script_orders_when_hold_after_404_then_presubmitted_locate_and_no_fill_until_released(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.script_orders(OrderScript(before_ack=(Msg(404),), outcome="hold"))
    trade = ib.placeOrder(AAPL, LimitOrder("SELL", 10, 189, orderRef="short"))  # would fill
    assert wait_until(ib, lambda: trade.orderStatus.status == "PreSubmitted")
    assert log_of(trade) == [("PendingSubmit", 0), ("ValidationError", 404), ("PreSubmitted", 0)]
    assert trade.orderStatus.whyHeld == "locate"
    assert order_errors(errors) == [
        (trade.order.orderId, 404, "Order held while securities are located.")
    ]
    sim.set_quote("AAPL", bid=Decimal("195"), ask=Decimal("195.2"), last=Decimal("195.1"))
    ib.sleep(QUIET_S)
    assert trade.orderStatus.status == "PreSubmitted"
    assert open_refs(ib) == {"short": ("PreSubmitted", 0.0, 10.0)}
    sim.fill(order_ref="short", quantity=Decimal(10))  # the shares were located, it executes
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert executed(ib) == [("short", 10.0)]


def test_script_orders_when_false_cancel_then_client_sees_cancelled_but_order_works_and_fills(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.script_orders(OrderScript(before_ack=(Msg(202),), outcome="false_cancel"))
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, RESTING, orderRef="fc"))
    assert wait_until(ib, lambda: len(trade.log) == 3)
    assert log_of(trade) == [("PendingSubmit", 0), ("Cancelled", 202), ("Cancelled", 0)]
    assert trade.isDone()
    assert order_errors(errors) == [(trade.order.orderId, 202, "Order Canceled - reason:")]
    # The broker's truth: the order is working, and the open-order answer says so.
    assert open_refs(ib) == {"fc": ("Submitted", 0.0, 10.0)}
    assert completed_refs(ib) == {}
    sim.set_quote("AAPL", bid=Decimal("149.8"), ask=Decimal("150"), last=Decimal("149.9"))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert [f.execution.shares for f in trade.fills] == [10.0]
    assert executed(ib) == [("fc", 10.0)]
    assert completed_refs(ib) == {"fc": "Filled"}


def test_script_orders_when_silent_then_nothing_arrives_yet_queries_show_the_order(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.script_orders(OrderScript(before_ack=(Msg(2109),), outcome="silent"))
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, RESTING, orderRef="s"))
    ib.sleep(QUIET_S)
    assert (log_of(trade), order_errors(errors)) == ([("PendingSubmit", 0)], [])
    assert [o.order_ref for o in sim.working_orders()] == ["s"]
    assert open_refs(ib)["s"][1:] == (0.0, 10.0)
    sim.fill(order_ref="s", quantity=Decimal(10))
    ib.sleep(QUIET_S)
    assert trade.fills == []  # not even the fill is pushed
    assert executed(ib) == [("s", 10.0)]
    assert completed_refs(ib) == {"s": "Filled"}


def test_script_orders_when_fill_below_total_then_partial_fill_reported_and_rest_works(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    sim.script_orders(OrderScript(fill=Decimal(4)))
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, RESTING, orderRef="p"))
    assert wait_until(ib, lambda: trade.orderStatus.filled == 4)
    assert (trade.orderStatus.status, trade.orderStatus.remaining) == ("Submitted", 6)
    assert [(f.execution.shares, f.execution.cumQty) for f in trade.fills] == [(4.0, 4.0)]
    assert executed(ib) == [("p", 4.0)]
    assert open_refs(ib) == {"p": ("Submitted", 4.0, 6.0)}
    sim.fill(order_id=trade.order.orderId, quantity=Decimal(6), price=Decimal("149.5"))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert trade.orderStatus.avgFillPrice == pytest.approx((4 * 150 + 6 * 149.5) / 10)
    assert executed(ib) == [("p", 4.0), ("p", 6.0)]
    assert completed_refs(ib) == {"p": "Filled"}
    assert open_refs(ib) == {}


def test_script_orders_when_order_ref_and_count_given_then_only_matching_placements_scripted(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    sim.script_orders(OrderScript(before_ack=(Msg(201),), outcome="reject"), 2, order_ref="K")
    other = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING, orderRef="J"))
    first = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING, orderRef="K"))
    second = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING, orderRef="K"))
    third = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING, orderRef="K"))
    assert wait_until(ib, lambda: third.orderStatus.status == "Submitted")
    assert wait_until(ib, lambda: second.orderStatus.status == "Cancelled")
    assert (other.orderStatus.status, first.orderStatus.status) == ("Submitted", "Cancelled")
    assert sorted(o.order_id for o in sim.orders()) == [other.order.orderId, third.order.orderId]


def test_reject_next_order_when_called_then_expressed_as_a_scripted_reject(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.reject_next_order(201, "Order rejected - reason:test")
    refused = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING))
    accepted = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING))
    assert wait_until(ib, lambda: accepted.orderStatus.status == "Submitted")
    assert order_errors(errors) == [(refused.order.orderId, 201, "Order rejected - reason:test")]
    assert [o.order_id for o in sim.orders()] == [accepted.order.orderId]


def test_order_script_when_malformed_then_value_error() -> None:
    with pytest.raises(ValueError, match="outcome"):
        OrderScript(outcome="explode")
    with pytest.raises(ValueError, match="positive"):
        OrderScript(fill=Decimal(0))
    with pytest.raises(ValueError, match="no text known"):
        Msg(4242)
    assert Msg(4242, "custom").message == "custom"
