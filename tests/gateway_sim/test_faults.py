"""Fault injection: dropped connections, restarts, stale nextValidId and slow responses."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from ib_async import LimitOrder, MarketOrder, Stock

from gateway_sim import GatewaySimulator
from tests.gateway_sim.helpers import Clients, Errors, wait_until

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")
MSFT = Stock("MSFT", "SMART", "USD")


def test_reconnect_when_connection_dropped_then_orders_and_fills_reconciled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    resting = ib.placeOrder(AAPL, LimitOrder("BUY", 10, 150, orderRef="keep"))
    to_fill = ib.placeOrder(MSFT, LimitOrder("BUY", 5, 400, orderRef="fills-offline"))
    assert wait_until(ib, lambda: to_fill.orderStatus.status == "Submitted")
    assert wait_until(ib, lambda: resting.orderStatus.status == "Submitted")
    sim.drop_connections()
    assert wait_until(ib, lambda: not ib.isConnected())
    # The market moves while the client is away: the MSFT order fills unseen.
    sim.set_quote("MSFT", bid=Decimal("399.50"), ask=Decimal("399.90"), last=Decimal("399.70"))
    ib2 = clients.connect(sim, client_id=1)
    [open_trade] = ib2.openTrades()
    assert (open_trade.order.orderId, open_trade.order.orderRef) == (resting.order.orderId, "keep")
    assert open_trade.order.lmtPrice == 150.0
    [fill] = ib2.fills()
    assert fill.execution.orderId == to_fill.order.orderId
    assert fill.execution.orderRef == "fills-offline"
    assert fill.commissionReport.commission == 1.0
    done = [t for t in ib2.trades() if t.orderStatus.status == "Filled"]
    assert [t.order.orderRef for t in done] == ["fills-offline"]
    assert [p.position for p in ib2.positions()] == [5.0]


def test_restart_when_state_exists_then_same_port_and_state_kept(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    resting = ib.placeOrder(AAPL, LimitOrder("SELL", 3, 250))
    filled = ib.placeOrder(AAPL, MarketOrder("BUY", 7))
    assert wait_until(ib, lambda: filled.orderStatus.status == "Filled")
    assert wait_until(ib, lambda: resting.orderStatus.status == "Submitted")
    port, before = sim.port, sim.orders()
    sim.restart()
    assert sim.port == port
    assert wait_until(ib, lambda: not ib.isConnected())
    assert sim.orders() == before
    # Reconnect with the same IB instance, as a long-running writer would.
    ib.connect("127.0.0.1", sim.port, clientId=1, timeout=5)
    assert [t.order.orderId for t in ib.openTrades()] == [resting.order.orderId]
    assert [f.execution.shares for f in ib.fills()] == [7.0]
    fresh = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100))
    assert fresh.order.orderId > filled.order.orderId
    assert wait_until(ib, lambda: fresh.orderStatus.status == "Submitted")


def test_next_valid_id_when_rolled_back_then_stale_id_collides_with_103(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    filled = ib.placeOrder(AAPL, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: filled.orderStatus.status == "Filled")
    sim.roll_back_next_valid_id_on_reconnect(3)
    sim.drop_connections()
    assert wait_until(ib, lambda: not ib.isConnected())
    errors: Errors = []
    ib2 = clients.connect(sim, client_id=1, errors=errors)
    stale = ib2.placeOrder(MSFT, LimitOrder("BUY", 1, 300))
    assert stale.order.orderId <= filled.order.orderId
    assert wait_until(ib2, lambda: (stale.order.orderId, 103) in [e[:2] for e in errors])
    assert {o.symbol for o in sim.orders()} == {"AAPL"}
    # The rollback is one-shot: the next connection is told the true next id again.
    sim.drop_connections()
    assert wait_until(ib2, lambda: not ib2.isConnected())
    ib3 = clients.connect(sim, client_id=1)
    good = ib3.placeOrder(MSFT, LimitOrder("BUY", 1, 300))
    assert wait_until(ib3, lambda: good.orderStatus.status == "Submitted")
    assert good.order.orderId > filled.order.orderId


def test_set_delay_when_positive_then_every_response_is_late(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    sim.set_delay(0.3)
    started = time.monotonic()
    ib.reqCurrentTime()
    assert time.monotonic() - started >= 0.3
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100))
    ib.sleep(0.15)
    assert trade.orderStatus.status == "PendingSubmit"
    assert wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    sim.set_delay(0)
    started = time.monotonic()
    ib.reqCurrentTime()
    assert time.monotonic() - started < 0.3
