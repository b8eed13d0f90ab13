"""What-if margin previews and the refusals of a gateway in Read-Only API mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from ib_async import LimitOrder, MarketOrder, Order, Stock

from gateway_sim import GatewaySimulator
from tests.gateway_sim.helpers import Clients, Errors, codes, wait_until

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")
READ_ONLY_TAIL = "The API interface is currently in Read-Only mode."
COMPLETED_ORDERS_REQ_ID = 2**31 - 1


def test_what_if_when_requested_then_margin_values_and_order_never_rests(
    sim: GatewaySimulator, clients: Clients
) -> None:
    sim.set_position("U1234567", "AAPL", Decimal(10), Decimal("150"))
    ib = clients.connect(sim)
    state = ib.whatIfOrder(AAPL, LimitOrder("BUY", 100, 180))
    assert state.status == "PreSubmitted"
    # Margin fields stay strings in ib_async; commission fields are parsed to floats.
    assert float(state.initMarginBefore) == 950.0  # 10 * 190 (last) * 50%
    assert float(state.initMarginChange) == 9500.0
    assert float(state.initMarginAfter) == 10450.0
    assert float(state.maintMarginChange) == 4750.0
    assert float(state.equityWithLoanBefore) > 0
    assert (state.commission, state.minCommission, state.maxCommission) == (1.0, 1.0, 1.0)
    assert state.commissionCurrency == "USD"
    ib.sleep(0.1)
    assert sim.orders() == []
    assert ib.reqAllOpenOrders() == []
    assert ib.openTrades() == []
    assert [m.name for m in sim.received_writes()] == ["PLACE_ORDER"]


def test_connect_when_read_only_then_startup_order_queries_refused_with_321(
    sim_factory: Callable[..., GatewaySimulator], clients: Clients
) -> None:
    sim = sim_factory(read_only=True)
    errors: Errors = []
    started = time.monotonic()
    ib = clients.connect(sim, timeout=1.5, errors=errors)  # readonly=False on purpose
    # ib_async gives up on the refused queries after its per-request timeout, then carries on.
    assert time.monotonic() - started < 4.0
    assert ib.isConnected()
    refused = {req_id for req_id, code, msg in errors if code == 321 and READ_ONLY_TAIL in msg}
    assert refused == {-1, COMPLETED_ORDERS_REQ_ID}
    assert ib.managedAccounts() == ["U1234567"]


def test_place_and_cancel_when_read_only_then_refused_with_321_keyed_to_order_id(
    sim_factory: Callable[..., GatewaySimulator], clients: Clients
) -> None:
    sim = sim_factory(read_only=True)
    errors: Errors = []
    ib = clients.connect(sim, readonly=True, errors=errors)
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 1))
    ib.cancelOrder(Order(orderId=4242))
    ib.reqGlobalCancel()
    assert wait_until(ib, lambda: codes(errors).count(321) == 3)
    assert [e[0] for e in errors if e[1] == 321] == [trade.order.orderId, 4242, -1]
    assert sim.orders() == []
    assert sim.executions() == []


def test_what_if_when_read_only_and_refused_then_321_and_no_answer(
    sim_factory: Callable[..., GatewaySimulator], clients: Clients
) -> None:
    sim = sim_factory(read_only=True)
    errors: Errors = []
    ib = clients.connect(sim, readonly=True, errors=errors)
    # ib_async never resolves a refused what-if, so the wait must be bounded.
    with pytest.raises(asyncio.TimeoutError):
        ib.run(asyncio.wait_for(ib.whatIfOrderAsync(AAPL, LimitOrder("BUY", 1, 100)), 1.0))
    assert 321 in codes(errors)


def test_what_if_when_read_only_and_allowed_then_answered(
    sim_factory: Callable[..., GatewaySimulator], clients: Clients
) -> None:
    sim = sim_factory(read_only=True, what_if_refused_in_read_only=False)
    ib = clients.connect(sim, readonly=True)
    state = ib.whatIfOrder(AAPL, LimitOrder("BUY", 10, 100))
    assert float(state.initMarginChange) == 950.0
    assert sim.orders() == []


def test_set_read_only_when_toggled_at_runtime_then_writes_follow_the_switch(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.set_read_only(True)
    refused = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100))
    assert wait_until(ib, lambda: (refused.order.orderId, 321) in [e[:2] for e in errors])
    sim.set_read_only(False)
    accepted = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100))
    assert wait_until(ib, lambda: accepted.orderStatus.status == "Submitted")
