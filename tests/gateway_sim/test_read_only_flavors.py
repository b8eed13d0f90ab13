"""Read-only mode switched on a live connection, in both flavors real gateways show."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from ib_async import IB, LimitOrder, Stock, Trade

from gateway_sim import GatewaySimulator, SimConfig
from tests.gateway_sim.helpers import (
    Clients,
    Errors,
    completed_refs,
    log_of,
    open_refs,
    order_errors,
    place_resting,
    unanswered,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")
READ_ONLY_TAIL = "The API interface is currently in Read-Only mode."
QUIET_S = 0.5


def _refusals(errors: Errors) -> list[int]:
    return [req for req, code, msg in errors if code == 321 and msg.endswith(READ_ONLY_TAIL)]


def _writes_refused(ib: IB, sim: GatewaySimulator, errors: Errors, resting: Trade) -> None:
    placed = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 150, orderRef="refused"))
    ib.cancelOrder(resting.order)
    assert wait_until(ib, lambda: len(_refusals(errors)) == 2)
    assert _refusals(errors) == [placed.order.orderId, resting.order.orderId]
    # ib_async files 321 as a warning: the refused placement shows an active status.
    assert log_of(placed) == [("PendingSubmit", 0), ("ValidationError", 321)]
    assert [o.order_ref for o in sim.working_orders()] == ["keep"]
    assert unanswered(ib, ib.whatIfOrderAsync(AAPL, LimitOrder("BUY", 1, 100)), QUIET_S)
    assert len(_refusals(errors)) == 3


def test_set_read_only_when_queries_refused_flavor_then_writes_and_order_queries_get_321(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    resting = place_resting(ib, "keep")
    sim.set_read_only(True)  # default flavor: queries_refused
    _writes_refused(ib, sim, errors, resting)
    assert unanswered(ib, ib.reqAllOpenOrdersAsync(), QUIET_S)
    assert unanswered(ib, ib.reqCompletedOrdersAsync(False), QUIET_S)
    assert len(_refusals(errors)) == 5
    sim.set_read_only(False)
    assert open_refs(ib) == {"keep": ("Submitted", 0.0, 10.0)}
    ib.cancelOrder(resting.order)
    assert wait_until(ib, lambda: resting.orderStatus.status == "Cancelled")


def test_set_read_only_when_what_if_refused_flavor_then_queries_answered_and_writes_get_321(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    resting = place_resting(ib, "keep")
    sim.set_read_only(True, flavor="what_if_refused")
    _writes_refused(ib, sim, errors, resting)
    assert open_refs(ib) == {"keep": ("Submitted", 0.0, 10.0)}
    assert completed_refs(ib) == {}
    assert len(_refusals(errors)) == 3
    assert order_errors(errors)[-1][1] == 321


def test_connect_when_configured_what_if_refused_flavor_then_fast_start_and_what_if_refused(
    sim_factory: Callable[..., GatewaySimulator], clients: Clients
) -> None:
    sim = sim_factory(read_only=True, read_only_flavor="what_if_refused")
    errors: Errors = []
    started = time.monotonic()
    ib = clients.connect(sim, timeout=3, errors=errors)
    # The order queries of the start-up sequence are answered: no per-request timeout.
    assert time.monotonic() - started < 1.5
    assert _refusals(errors) == []
    assert unanswered(ib, ib.whatIfOrderAsync(AAPL, LimitOrder("BUY", 1, 100)), QUIET_S)
    assert len(_refusals(errors)) == 1


def test_set_read_only_when_flavor_unknown_then_value_error(sim: GatewaySimulator) -> None:
    with pytest.raises(ValueError, match="flavor"):
        sim.set_read_only(True, flavor="mostly")
    with pytest.raises(ValueError, match="read_only_flavor"):
        SimConfig(read_only_flavor="mostly")
    assert SimConfig(what_if_refused_in_read_only=False).flavor == "what_if_allowed"
