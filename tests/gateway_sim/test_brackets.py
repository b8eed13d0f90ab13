"""Brackets (parent + take-profit + stop-loss) and explicit OCA groups, as IB runs them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ib_async import IB, LimitOrder, Stock, Trade

from gateway_sim import GatewaySimulator
from tests.gateway_sim.helpers import Clients, wait_until

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")


def _place_bracket(ib: IB, entry: float) -> tuple[Trade, Trade, Trade]:
    bracket = ib.bracketOrder("BUY", 100, entry, takeProfitPrice=195, stopLossPrice=185)
    parent, take_profit, stop_loss = (ib.placeOrder(AAPL, o) for o in bracket)
    return parent, take_profit, stop_loss


def _by_id(sim: GatewaySimulator) -> dict[int, str]:
    return {o.order_id: o.status for o in sim.orders()}


def test_bracket_when_last_child_not_transmitted_then_nothing_is_live(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    parent_o, tp_o, sl_o = ib.bracketOrder("BUY", 100, 190.1, 195, 185)
    parent = ib.placeOrder(AAPL, parent_o)
    take_profit = ib.placeOrder(AAPL, tp_o)
    assert wait_until(ib, lambda: len(sim.orders()) == 2)
    ib.sleep(0.1)
    assert set(_by_id(sim).values()) == {"Held"}
    assert sim.executions() == []
    assert parent.orderStatus.status == take_profit.orderStatus.status == "PendingSubmit"
    stop_loss = ib.placeOrder(AAPL, sl_o)
    # The parent is marketable (limit at the ask), so transmitting fills it at once and
    # the children go live: the limit rests as Submitted, the simulated stop as PreSubmitted.
    assert wait_until(ib, lambda: parent.orderStatus.status == "Filled")
    assert wait_until(ib, lambda: take_profit.orderStatus.status == "Submitted")
    assert wait_until(ib, lambda: stop_loss.orderStatus.status == "PreSubmitted")
    [sim_tp] = [o for o in sim.orders() if o.order_id == tp_o.orderId]
    assert (sim_tp.parent_id, sim_tp.transmit) == (parent_o.orderId, False)


def test_bracket_when_parent_not_filled_then_children_stay_presubmitted(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    parent, take_profit, stop_loss = _place_bracket(ib, entry=188)
    assert wait_until(ib, lambda: parent.orderStatus.status == "Submitted")
    assert wait_until(ib, lambda: take_profit.orderStatus.status == "PreSubmitted")
    assert stop_loss.orderStatus.status == "PreSubmitted"
    # Another client sees the bracket only through openOrder messages: links must survive.
    observer = clients.connect(sim, client_id=2)
    seen = {t.order.orderId: t.order for t in observer.reqAllOpenOrders()}
    assert seen[take_profit.order.orderId].parentId == parent.order.orderId
    assert seen[stop_loss.order.orderId].parentId == parent.order.orderId
    assert (seen[stop_loss.order.orderId].orderType, seen[stop_loss.order.orderId].auxPrice) == (
        "STP",
        185.0,
    )
    assert (seen[parent.order.orderId].parentId, seen[parent.order.orderId].lmtPrice) == (0, 188.0)
    sim.set_quote("AAPL", bid=Decimal("187.5"), ask=Decimal("187.9"), last=Decimal("187.7"))
    assert wait_until(ib, lambda: parent.orderStatus.status == "Filled")
    assert parent.orderStatus.avgFillPrice == 187.9
    assert wait_until(ib, lambda: take_profit.orderStatus.status == "Submitted")


def test_bracket_when_take_profit_fills_then_stop_loss_cancelled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    _parent, take_profit, stop_loss = _place_bracket(ib, entry=190.1)
    assert wait_until(ib, lambda: take_profit.orderStatus.status == "Submitted")
    sim.set_quote("AAPL", bid=Decimal("195.00"), ask=Decimal("195.20"), last=Decimal("195.10"))
    assert wait_until(ib, lambda: take_profit.orderStatus.status == "Filled")
    assert wait_until(ib, lambda: stop_loss.orderStatus.status == "Cancelled")
    assert take_profit.orderStatus.avgFillPrice == 195.0
    assert [f.execution.side for f in ib.fills()] == ["BOT", "SLD"]
    assert _by_id(sim)[stop_loss.order.orderId] == "Cancelled"


def test_bracket_when_stop_loss_triggers_then_take_profit_cancelled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    _parent, take_profit, stop_loss = _place_bracket(ib, entry=190.1)
    assert wait_until(ib, lambda: take_profit.orderStatus.status == "Submitted")
    sim.set_quote("AAPL", bid=Decimal("184.80"), ask=Decimal("185.00"), last=Decimal("184.90"))
    assert wait_until(ib, lambda: stop_loss.orderStatus.status == "Filled")
    assert wait_until(ib, lambda: take_profit.orderStatus.status == "Cancelled")
    assert stop_loss.orderStatus.avgFillPrice == 184.8
    assert wait_until(ib, lambda: ib.positions() == [])


def test_bracket_when_parent_cancelled_then_children_cancelled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    parent, take_profit, stop_loss = _place_bracket(ib, entry=150)
    assert wait_until(ib, lambda: parent.orderStatus.status == "Submitted")
    ib.cancelOrder(parent.order)
    for trade in (parent, take_profit, stop_loss):
        assert wait_until(ib, lambda t=trade: t.orderStatus.status == "Cancelled")
    assert set(_by_id(sim).values()) == {"Cancelled"}


def test_oca_group_when_one_order_fills_then_the_other_is_cancelled(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    msft = Stock("MSFT", "SMART", "USD")
    first, second = ib.oneCancelsAll(
        [LimitOrder("BUY", 10, 188), LimitOrder("BUY", 5, 405)], ocaGroup="oca-42", ocaType=1
    )
    t_first = ib.placeOrder(AAPL, first)
    t_second = ib.placeOrder(msft, second)
    assert wait_until(ib, lambda: t_second.orderStatus.status == "Submitted")
    sim.set_quote("MSFT", bid=Decimal("404.50"), ask=Decimal("404.90"), last=Decimal("404.70"))
    assert wait_until(ib, lambda: t_second.orderStatus.status == "Filled")
    assert wait_until(ib, lambda: t_first.orderStatus.status == "Cancelled")
    assert {o.oca_group for o in sim.orders()} == {"oca-42"}
