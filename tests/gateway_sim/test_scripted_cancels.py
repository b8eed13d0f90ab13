"""Scripted cancels and modifies: ignored cancels, fills crossing a cancel, refused modifies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ib_async import LimitOrder, Order, Stock

from gateway_sim import CancelScript, GatewaySimulator, Msg, OrderScript
from tests.gateway_sim.helpers import (
    Clients,
    Errors,
    completed_refs,
    executed,
    log_of,
    open_refs,
    order_errors,
    place_resting,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")
RESTING = 150
QUIET_S = 0.4


def test_script_cancels_when_cancel_with_messages_then_messages_then_202_and_cancelled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = place_resting(ib, "c")
    sim.script_cancels(CancelScript(messages=(Msg(2137),)))
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    oid = trade.order.orderId
    assert [e[:2] for e in order_errors(errors)] == [(oid, 2137), (oid, 202)]
    assert (open_refs(ib), completed_refs(ib)) == ({}, {"c": "Cancelled"})


def test_script_cancels_when_ignore_with_161_then_client_marks_cancelled_but_order_works(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = place_resting(ib, "i")
    sim.script_cancels(CancelScript(messages=(Msg(161),), outcome="ignore"))
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    perm = sim.orders()[0].perm_id
    text = f"Cancel attempted when order is not in a cancellable state.  Order permId ={perm}"
    assert order_errors(errors) == [(trade.order.orderId, 161, text)]
    assert log_of(trade)[-1] == ("Cancelled", 161)
    assert open_refs(ib) == {"i": ("Submitted", 0.0, 10.0)}
    sim.fill(order_ref="i", quantity=Decimal(10))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")


def test_script_cancels_when_fill_instead_then_filled_and_cancel_refused_with_10148(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = place_resting(ib, "f")
    sim.script_cancels(CancelScript(outcome="fill_instead"))
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: 10148 in [e[1] for e in errors])
    oid = trade.order.orderId
    text = f"OrderId {oid} that needs to be cancelled cannot be cancelled, state: Filled."
    assert order_errors(errors) == [(oid, 10148, text)]
    # The fill came first, so ib_async keeps the trade Filled despite the error.
    assert trade.orderStatus.status == "Filled"
    assert executed(ib) == [("f", 10.0)]
    assert completed_refs(ib) == {"f": "Filled"}


def test_script_cancels_when_false_cancel_then_cancelled_reported_then_filled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = place_resting(ib, "x")
    sim.script_cancels(CancelScript(outcome="false_cancel"))
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert [s for s, _ in log_of(trade)] == [
        "PendingSubmit",
        "Submitted",
        "PendingCancel",
        "Cancelled",
        "Cancelled",
        "Filled",
    ]
    assert [e[1] for e in order_errors(errors)] == [202]
    assert executed(ib) == [("x", 10.0)]
    assert completed_refs(ib) == {"x": "Filled"}


def test_cancel_when_broker_never_kept_the_order_then_10147_and_trade_marked_cancelled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.script_orders(OrderScript(outcome="reject"))  # a reject whose only answer is lost
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING, orderRef="lost"))
    ib.sleep(QUIET_S)
    assert trade.orderStatus.status == "PendingSubmit"
    # Not used by this cancel: the broker has nothing working to apply it to.
    sim.script_cancels(CancelScript(messages=(Msg(161),), outcome="ignore"))
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    oid = trade.order.orderId
    text = f"OrderId {oid} that needs to be cancelled is not found."
    assert order_errors(errors) == [(oid, 10147, text)]
    assert log_of(trade)[-1] == ("Cancelled", 10147)
    other = place_resting(ib, "next")
    ib.cancelOrder(other.order)
    assert wait_until(ib, lambda: len(order_errors(errors)) == 2)  # the script applies here
    assert order_errors(errors)[1][:2] == (other.order.orderId, 161)
    assert open_refs(ib) == {"next": ("Submitted", 0.0, 10.0)}


def test_script_modifies_when_reject_then_order_kept_unmodified_though_client_sees_cancelled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = place_resting(ib, "m")
    reason = "Order rejected - reason:The price is too far from the market."
    sim.script_modifies(OrderScript(before_ack=(Msg(201, reason),), outcome="reject"))
    trade.order.lmtPrice = 151
    ib.placeOrder(AAPL, trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert order_errors(errors) == [(trade.order.orderId, 201, reason)]
    [order] = sim.orders()
    assert (order.status, order.lmt_price) == ("Submitted", Decimal(RESTING))
    [listed] = ib.reqAllOpenOrders()
    assert (listed.order.lmtPrice, listed.orderStatus.status) == (RESTING, "Submitted")


def test_script_modifies_when_work_with_warning_then_applied_and_warning_after_status(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = place_resting(ib, "mw")
    sim.script_modifies(OrderScript(after_ack=(Msg(2109),)))
    trade.order.lmtPrice = 151
    ib.placeOrder(AAPL, trade.order)
    assert wait_until(ib, lambda: log_of(trade)[-1] == ("ValidationError", 2109))
    assert sim.orders()[0].lmt_price == Decimal(151)
    assert [e[1] for e in order_errors(errors)] == [2109]


def test_script_modifies_when_hold_or_new_order_placed_then_refused_or_unused(
    sim: GatewaySimulator, clients: Clients
) -> None:
    with pytest.raises(ValueError, match="modify outcome"):
        sim.script_modifies(OrderScript(outcome="hold"))
    ib = clients.connect(sim)
    sim.script_modifies(OrderScript(outcome="reject"))
    fresh = place_resting(ib, "new")  # a new order never uses a modify script
    fresh.order.lmtPrice = 149
    ib.placeOrder(AAPL, fresh.order)
    ib.sleep(QUIET_S)
    assert sim.orders()[0].lmt_price == Decimal(RESTING)


def test_cancel_when_id_unknown_and_no_trade_then_10147_only(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    ib.cancelOrder(Order(orderId=4242))
    assert wait_until(ib, lambda: bool(order_errors(errors)))
    text = "OrderId 4242 that needs to be cancelled is not found."
    assert order_errors(errors) == [(4242, 10147, text)]


def test_script_modifies_when_silent_or_false_cancel_then_applied_with_that_answer(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    trade = place_resting(ib, "ms")
    sim.script_modifies(OrderScript(outcome="silent"))
    sim.script_modifies(OrderScript(outcome="false_cancel"))
    trade.order.lmtPrice = 151
    ib.placeOrder(AAPL, trade.order)
    assert wait_until(ib, lambda: sim.orders()[0].lmt_price == Decimal(151))
    ib.sleep(QUIET_S)
    assert trade.orderStatus.status == "Submitted"  # no answer to the first modify
    trade.order.lmtPrice = 152
    ib.placeOrder(AAPL, trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert sim.orders()[0].lmt_price == Decimal(152)
    assert open_refs(ib) == {"ms": ("Submitted", 0.0, 10.0)}
