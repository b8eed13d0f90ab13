"""Single-order lifecycle: place, modify, cancel, fill, and the IB errors around them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Order, Stock, StopOrder

from gateway_sim import GatewaySimulator
from tests.gateway_sim.helpers import Clients, Errors, codes, wait_until

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")


def _status(ib: IB, trade: object, status: str) -> bool:
    return wait_until(ib, lambda: trade.orderStatus.status == status)  # type: ignore[attr-defined]


def test_limit_order_when_placed_modified_cancelled_then_sim_and_trade_follow(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 100, 180.5, orderRef="lim-1"))
    assert _status(ib, trade, "Submitted")
    [order] = sim.orders()
    assert (order.status, order.lmt_price, order.total_quantity) == (
        "Submitted",
        Decimal("180.5"),
        Decimal("100"),
    )
    trade.order.lmtPrice = 181.25
    trade.order.totalQuantity = 150
    ib.placeOrder(AAPL, trade.order)
    assert wait_until(ib, lambda: sim.orders()[0].lmt_price == Decimal("181.25"))
    [order] = sim.orders()
    assert (order.total_quantity, order.remaining, order.status) == (
        Decimal("150"),
        Decimal("150"),
        "Submitted",
    )
    assert wait_until(ib, lambda: trade.orderStatus.remaining == 150)
    assert any(e.message == "Modify" for e in trade.log)
    ib.cancelOrder(trade.order)
    assert _status(ib, trade, "Cancelled")
    assert sim.orders()[0].status == "Cancelled"
    assert 202 in codes(errors)


def test_market_order_when_placed_then_filled_with_execution_and_commission(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 200, orderRef="mkt-1"))
    assert _status(ib, trade, "Filled")
    assert wait_until(ib, lambda: bool(trade.fills) and trade.fills[0].commissionReport.execId)
    [fill] = trade.fills
    assert (fill.execution.side, fill.execution.shares, fill.execution.price) == (
        "BOT",
        200.0,
        190.1,
    )
    assert fill.execution.orderRef == "mkt-1"
    assert fill.commissionReport.commission == 1.0
    assert trade.orderStatus.avgFillPrice == 190.1
    [execution] = sim.executions()
    assert (execution.price, execution.shares, execution.commission) == (
        Decimal("190.10"),
        Decimal("200"),
        Decimal("1.00"),
    )
    assert wait_until(ib, lambda: [p.position for p in ib.positions()] == [200.0])


def test_limit_sell_when_marketable_then_fills_at_bid(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    trade = ib.placeOrder(AAPL, LimitOrder("SELL", 10, 189.0))
    assert _status(ib, trade, "Filled")
    assert trade.orderStatus.avgFillPrice == 189.9


def test_limit_order_when_modified_to_marketable_then_fills(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, 150))
    assert _status(ib, trade, "Submitted")
    trade.order.lmtPrice = 191
    ib.placeOrder(AAPL, trade.order)
    assert _status(ib, trade, "Filled")
    assert sim.executions()[0].price == Decimal("190.10")


def test_stop_order_when_not_triggered_then_presubmitted_until_market_moves(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    trade = ib.placeOrder(AAPL, StopOrder("SELL", 10, 185))
    assert _status(ib, trade, "PreSubmitted")
    sim.set_quote("AAPL", bid=Decimal("184.5"), ask=Decimal("184.7"), last=Decimal("184.6"))
    assert _status(ib, trade, "Filled")
    assert trade.orderStatus.avgFillPrice == 184.5


def test_cancel_when_order_id_unknown_then_error_10147(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    ib.cancelOrder(Order(orderId=99_999))
    assert wait_until(ib, lambda: 10147 in codes(errors))
    [(req_id, _code, msg)] = [e for e in errors if e[1] == 10147]
    assert req_id == 99_999
    assert msg == "OrderId 99999 that needs to be cancelled is not found."


def test_cancel_when_order_already_filled_then_error_10148(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 1))
    assert _status(ib, trade, "Filled")
    ib.client.cancelOrder(trade.order.orderId)
    assert wait_until(ib, lambda: 10148 in codes(errors))


def test_place_when_order_id_reused_then_error_103(sim: GatewaySimulator, clients: Clients) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    working = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100))
    cancelled = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 101))
    assert _status(ib, working, "Submitted")
    ib.cancelOrder(cancelled.order)
    assert _status(ib, cancelled, "Cancelled")
    msft = Stock("MSFT", "SMART", "USD")
    # Same id as a working order but another contract, then the id of a cancelled order.
    ib.client.placeOrder(working.order.orderId, msft, LimitOrder("BUY", 1, 300))
    ib.client.placeOrder(cancelled.order.orderId, AAPL, LimitOrder("BUY", 1, 102))
    # A fresh id below the highest one already used by this client.
    ib.client.placeOrder(working.order.orderId - 1, AAPL, LimitOrder("BUY", 1, 103))
    assert wait_until(ib, lambda: codes(errors).count(103) == 3)
    assert [e[0] for e in errors if e[1] == 103] == [
        working.order.orderId,
        cancelled.order.orderId,
        working.order.orderId - 1,
    ]
    assert {o.symbol for o in sim.orders()} == {"AAPL"}
    assert len(sim.orders()) == 2


def test_modify_when_order_filled_then_error_104(sim: GatewaySimulator, clients: Clients) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 5))
    assert _status(ib, trade, "Filled")
    ib.client.placeOrder(trade.order.orderId, AAPL, MarketOrder("BUY", 6))
    assert wait_until(ib, lambda: 104 in codes(errors))
    assert sim.orders()[0].total_quantity == Decimal(5)


def test_global_cancel_when_orders_working_then_all_cancelled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    trades = [ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100 + i)) for i in range(3)]
    assert all(_status(ib, t, "Submitted") for t in trades)
    ib.reqGlobalCancel()
    assert all(_status(ib, t, "Cancelled") for t in trades)
    assert {o.status for o in sim.orders()} == {"Cancelled"}
    assert [m.name for m in sim.received_writes()][-1] == "REQ_GLOBAL_CANCEL"


def test_place_when_rejection_armed_then_error_and_order_not_accepted(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.reject_next_order(201, "Order rejected - reason:Simulated margin deficit")
    rejected = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100))
    assert _status(ib, rejected, "Cancelled")
    assert (rejected.order.orderId, 201) in [(e[0], e[1]) for e in errors]
    assert sim.orders() == []
    accepted = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100))
    assert _status(ib, accepted, "Submitted")


def test_order_fields_when_round_tripped_then_identical_in_fresh_trade_objects(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim, client_id=1)
    order = LimitOrder("SELL", 37, 201.37, orderRef="ref-Ünïcode/42", ocaGroup="grp-7")
    order.tif = "GTC"
    trade = ib.placeOrder(AAPL, order)
    assert _status(ib, trade, "Submitted")
    # A second client rebuilds the order purely from the openOrder wire message.
    observer = clients.connect(sim, client_id=2)
    [seen] = observer.reqAllOpenOrders()
    o = seen.order
    assert (o.orderRef, o.lmtPrice, o.parentId) == ("ref-Ünïcode/42", 201.37, 0)
    assert o.ocaGroup == "grp-7"
    assert (o.action, o.totalQuantity, o.orderType, o.tif) == ("SELL", 37.0, "LMT", "GTC")
    assert (o.orderId, o.clientId, o.permId) == (trade.order.orderId, 1, trade.order.permId)
    [sim_order] = sim.orders()
    assert sim_order.transmit is True
    assert sim_order.order_ref == "ref-Ünïcode/42"
    ib.cancelOrder(trade.order)
    assert _status(ib, trade, "Cancelled")
    [done] = observer.reqCompletedOrders(apiOnly=False)
    assert (done.order.orderRef, done.order.lmtPrice, done.order.ocaGroup) == (
        "ref-Ünïcode/42",
        201.37,
        "grp-7",
    )
    assert done.orderStatus.status == "Cancelled"
