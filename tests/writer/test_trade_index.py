"""The session finds a trade by key or by (account, order id) without walking every trade.

The trades are put where ib_async keeps them (its wrapper's table) and announced with the
events it emits, so these run without a gateway; the cancels and modifies that go through
this lookup against the simulator are in test_orders.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ib_async import Contract, Order, OrderStatus, Trade

from writer_service.ib_session import IbSession

ACCOUNT = "U1234567"


@pytest.fixture
def session() -> Iterator[IbSession]:
    s = IbSession(5)
    try:
        yield s
    finally:
        s.stop()


def _trade(session: IbSession, order_id: int, account: str = ACCOUNT, ref: str = "") -> Trade:
    """A trade in ib_async's table, as placeOrder or an openOrder message leaves it."""
    order = Order(orderId=order_id, clientId=5, account=account, orderRef=ref)
    trade = Trade(Contract(), order, OrderStatus(orderId=order_id))
    session.ib.wrapper.trades[(order.clientId, order_id, account, ref)] = trade
    return trade


def test_trade_by_id_when_announced_then_found_by_account_and_id_only(session: IbSession) -> None:
    ours = _trade(session, 7, ref="k7")
    other_account = _trade(session, 8, account="U7654321")
    for trade in (ours, other_account):
        session.ib.newOrderEvent.emit(trade)
    assert session.trade_by_id(ACCOUNT, 7) is ours
    assert session.trade_by_ref("k7") is ours
    assert session.trade_by_id("U7654321", 8) is other_account
    assert session.trade_by_id(ACCOUNT, 8) is None  # that id is another account's order
    assert session.trade_by_id(ACCOUNT, 9) is None


def test_trade_by_id_when_never_announced_then_found_by_the_walk(session: IbSession) -> None:
    # Trades that came without an event (the index is built once, then one arrives silently).
    first = _trade(session, 3)
    assert session.trade_by_id(ACCOUNT, 3) is first
    silent = _trade(session, 4)
    assert session.trade_by_id(ACCOUNT, 4) is silent


def test_trade_by_id_when_an_id_repeats_then_the_first_trade_as_a_walk_finds(
    session: IbSession,
) -> None:
    first = _trade(session, 11, ref="a")
    second = _trade(session, 11, ref="b")
    for trade in (first, second):
        session.ib.openOrderEvent.emit(trade)
    assert session.trade_by_id(ACCOUNT, 11) is first
    session._index_stale = True  # as after a reconnect or an order query: rebuilt by a walk
    assert session.trade_by_id(ACCOUNT, 11) is first
    assert session.trade_by_ref("b") is second
