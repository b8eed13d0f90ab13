"""How ib_async 2.1.0 files each code the simulator can send on a working order (faults.py)."""

from __future__ import annotations

import pytest
from ib_async import LimitOrder, Stock

from gateway_sim import GatewaySimulator, Msg, OrderScript
from gateway_sim.faults import MESSAGE_TEXTS
from tests.gateway_sim.helpers import Clients, Errors, log_of, open_refs, order_errors, wait_until

pytestmark = pytest.mark.timeout(60)
AAPL = Stock("AAPL", "SMART", "USD")
WARNING = "ValidationError"  # ib_async keeps the trade active
ERROR = "Cancelled"  # ib_async marks the trade Cancelled
# The table of gateway_sim/faults.py's docstring, code by code.
FILED = {
    2109: WARNING,
    2137: WARNING,
    399: WARNING,
    404: WARNING,
    10167: WARNING,
    201: ERROR,
    202: ERROR,
    10147: ERROR,
    10148: ERROR,
    321: WARNING,
    103: ERROR,
    104: ERROR,
    110: WARNING,
    135: ERROR,
    161: ERROR,
    434: WARNING,
}


def test_message_texts_when_listed_then_every_filed_code_has_a_real_text() -> None:
    assert set(FILED) == set(MESSAGE_TEXTS)


@pytest.mark.parametrize("code", sorted(FILED))
def test_message_when_sent_after_ack_then_ib_async_files_it_per_table_and_order_still_rests(
    sim: GatewaySimulator, clients: Clients, code: int
) -> None:
    errors: Errors = []
    ib = clients.connect(sim, errors=errors)
    sim.script_orders(OrderScript(after_ack=(Msg(code),)))
    trade = ib.placeOrder(AAPL, LimitOrder("SELL", 10, 250, orderRef="t"))
    assert wait_until(ib, lambda: bool(order_errors(errors)))
    oid = trade.order.orderId
    [(req_id, got, text)] = order_errors(errors)
    assert (req_id, got) == (oid, code)
    perm = sim.orders()[0].perm_id
    assert text == MESSAGE_TEXTS[code].format(
        order_id=oid, perm_id=perm, status="Submitted", action="SELL", quantity=10,
        symbol="AAPL", next_open=text.split("until ")[-1][:10],
    )  # fmt: skip
    assert log_of(trade)[-2:] == [("Submitted", 0), (FILED[code], code)]
    # Whatever the client concluded, the broker still works the order.
    assert open_refs(ib) == {"t": ("Submitted", 0.0, 10.0)}


def test_message_110_when_sent_before_ack_then_ib_async_cancels_the_pending_trade(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    sim.script_orders(OrderScript(before_ack=(Msg(110),)))
    trade = ib.placeOrder(AAPL, LimitOrder("SELL", 10, 250, orderRef="t"))
    assert wait_until(ib, lambda: len(trade.log) == 3)
    # A warning code turned error only while PendingSubmit; the ack then revives the trade.
    assert log_of(trade) == [("PendingSubmit", 0), (ERROR, 110), ("Submitted", 0)]
    assert open_refs(ib) == {"t": ("Submitted", 0.0, 10.0)}


def test_send_message_when_order_working_then_delivered_to_its_owner_with_real_text(
    sim: GatewaySimulator, clients: Clients
) -> None:
    owner_errors: Errors = []
    other_errors: Errors = []
    ib = clients.connect(sim, errors=owner_errors)
    other = clients.connect(sim, client_id=2, errors=other_errors)
    trade = ib.placeOrder(AAPL, LimitOrder("SELL", 10, 250, orderRef="t"))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    sim.send_message(trade.order.orderId, 2137)
    sim.send_message(trade.order.orderId, 202, "Order Canceled - reason:by the exchange")
    assert wait_until(ib, lambda: len(order_errors(owner_errors)) == 2)
    assert order_errors(owner_errors) == [
        (trade.order.orderId, 2137, MESSAGE_TEXTS[2137]),
        (trade.order.orderId, 202, "Order Canceled - reason:by the exchange"),
    ]
    assert log_of(trade)[-2:] == [(WARNING, 2137), (ERROR, 202)]
    other.sleep(0.2)
    assert order_errors(other_errors) == []
    assert open_refs(ib) == {"t": ("Submitted", 0.0, 10.0)}
    sim.send_message(777, 10167)  # no such order: every client hears it
    assert wait_until(other, lambda: bool(order_errors(other_errors)))
    assert order_errors(other_errors) == [(777, 10167, MESSAGE_TEXTS[10167])]
