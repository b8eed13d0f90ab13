"""Late and lost answers per request kind: the broker acts, only its answer is late or gone."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from ib_async import LimitOrder, Stock

from gateway_sim import GatewaySimulator
from tests.gateway_sim.helpers import (
    Clients,
    Errors,
    completed_refs,
    executed,
    log_of,
    open_refs,
    order_errors,
    place_resting,
    unanswered,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")
RESTING = 150
DELAY_S = 0.6
QUIET_S = 0.4


def test_delay_when_place_ack_late_then_order_rests_at_once_and_queries_not_held_back(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    sim.delay("place_ack", DELAY_S)
    started = time.monotonic()
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, RESTING, orderRef="late"))
    ib.sleep(QUIET_S)
    assert trade.orderStatus.status == "PendingSubmit"
    assert [o.order_ref for o in sim.working_orders()] == ["late"]  # the broker acted at once
    assert wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    assert time.monotonic() - started >= DELAY_S
    # The broker's truth is there before its answer: a query overtakes a late ack.
    again = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING, orderRef="again"))
    started = time.monotonic()
    assert set(open_refs(ib)) == {"late", "again"}
    assert time.monotonic() - started < DELAY_S
    sim.delay("place_ack", 0)
    quick = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING))
    assert wait_until(ib, lambda: quick.orderStatus.status == "Submitted", timeout=DELAY_S / 2)
    assert again.orderStatus.status == "Submitted"


def test_drop_when_place_ack_lost_then_no_answer_but_order_visible_and_next_ack_arrives(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.drop("place_ack")
    lost = ib.placeOrder(AAPL, LimitOrder("BUY", 10, RESTING, orderRef="lost"))
    ib.sleep(QUIET_S)
    assert (log_of(lost), order_errors(errors)) == ([("PendingSubmit", 0)], [])
    assert open_refs(ib) == {"lost": ("Submitted", 0.0, 10.0)}
    answered = ib.placeOrder(AAPL, LimitOrder("BUY", 1, RESTING, orderRef="next"))
    assert wait_until(ib, lambda: answered.orderStatus.status == "Submitted")
    # Only the answer was lost: later events of the order arrive as usual.
    sim.fill(order_ref="lost", quantity=Decimal(10))
    assert wait_until(ib, lambda: lost.orderStatus.status == "Filled")


def test_drop_when_cancel_ack_lost_then_cancel_happens_without_answer(
    sim: GatewaySimulator, clients: Clients
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    trade = place_resting(ib, "c")
    sim.drop("cancel_ack")
    ib.cancelOrder(trade.order)
    ib.sleep(QUIET_S)
    assert trade.orderStatus.status == "PendingCancel"
    assert order_errors(errors) == []
    assert (open_refs(ib), completed_refs(ib)) == ({}, {"c": "Cancelled"})


def test_drop_when_modify_ack_lost_then_modify_applied_without_answer(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    trade = place_resting(ib, "m")
    sim.drop("modify_ack")
    trade.order.lmtPrice = 151
    ib.placeOrder(AAPL, trade.order)
    assert wait_until(ib, lambda: sim.orders()[0].lmt_price == Decimal(151))
    ib.sleep(QUIET_S)
    assert trade.log[-1].message == "Modify"  # the client's own entry, never acknowledged


@pytest.mark.parametrize("kind", ["open_orders", "completed_orders", "executions"])
def test_drop_when_query_answer_lost_then_query_times_out_and_next_one_answers(
    sim: GatewaySimulator, clients: Clients, kind: str
) -> None:
    ib = clients.connect(sim)
    filled = ib.placeOrder(AAPL, LimitOrder("BUY", 2, 200, orderRef="done"))
    assert wait_until(ib, lambda: filled.orderStatus.status == "Filled")
    queries = {
        "open_orders": ib.reqAllOpenOrdersAsync,
        "completed_orders": lambda: ib.reqCompletedOrdersAsync(False),
        "executions": ib.reqExecutionsAsync,
    }
    sim.drop(kind)
    assert unanswered(ib, queries[kind](), QUIET_S)
    answered = ib.run(asyncio.wait_for(queries[kind](), 5))
    assert len(answered) == (0 if kind == "open_orders" else 1)


def test_delay_when_executions_late_then_answer_arrives_after_the_delay(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    filled = ib.placeOrder(AAPL, LimitOrder("BUY", 2, 200, orderRef="x"))
    assert wait_until(ib, lambda: filled.orderStatus.status == "Filled")
    sim.delay("executions", DELAY_S)
    started = time.monotonic()
    assert executed(ib) == [("x", 2.0)]
    assert time.monotonic() - started >= DELAY_S
    started = time.monotonic()
    assert completed_refs(ib) == {"x": "Filled"}  # other kinds are not delayed
    assert time.monotonic() - started < DELAY_S


def test_delay_when_what_if_and_quote_late_then_each_answer_late(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    sim.delay("what_if", DELAY_S)
    sim.delay("quote", DELAY_S)
    started = time.monotonic()
    state = ib.whatIfOrder(AAPL, LimitOrder("BUY", 10, 100))
    assert time.monotonic() - started >= DELAY_S
    assert float(state.initMarginChange) == 950.0
    started = time.monotonic()
    [qualified] = ib.qualifyContracts(Stock("AAPL", "SMART", "USD"))
    assert time.monotonic() - started >= DELAY_S
    started = time.monotonic()
    [ticker] = ib.reqTickers(qualified)
    assert time.monotonic() - started >= DELAY_S
    assert ticker.ask == 190.10


def test_drop_when_any_then_next_answer_of_any_kind_lost_and_clear_faults_restores(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    sim.drop("any", 1)
    assert unanswered(ib, ib.reqCurrentTimeAsync(), QUIET_S)
    assert ib.reqCurrentTime() is not None
    sim.delay("any", 5)
    sim.drop("open_orders", 3)
    sim.clear_faults()
    started = time.monotonic()
    assert open_refs(ib) == {}
    assert time.monotonic() - started < 1


def test_delay_and_drop_when_kind_or_value_invalid_then_value_error(
    sim: GatewaySimulator,
) -> None:
    with pytest.raises(ValueError, match="kind"):
        sim.delay("everything", 1)
    with pytest.raises(ValueError, match="delay"):
        sim.delay("place_ack", 61)
    with pytest.raises(ValueError, match="count"):
        sim.drop("place_ack", -1)
