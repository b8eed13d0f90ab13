"""The writer's waits on the broker: woken by their own order's events, cheap to format."""

from __future__ import annotations

import logging
from decimal import Decimal

import grpc
import pytest
from ib_async import Contract, Order, Trade
from ib_async.order import OrderStatus

from livegate_api.v1 import writer_pb2
from tests.support.writers import ACCOUNT
from tests.writer.conftest import RunningWriter
from tests.writer.test_orders import limit_order, submit
from writer_service import ib_session, log_redaction
from writer_service.ib_convert import (
    ib_order_for,
    placement_contract_for,
    spec_from_ib,
    to_decimal,
)
from writer_service.orders import (
    InstrumentSpec,
    OrderKind,
    OrderSpec,
    SecKind,
    Side,
    TimeInForce,
)

SPEC = OrderSpec(
    InstrumentSpec("AAPL", SecKind.STOCK),
    Side.BUY,
    Decimal("10"),
    OrderKind.STOP_LIMIT,
    Decimal("150.25"),
    Decimal("151"),
    TimeInForce.GTC,
)


@pytest.fixture
def events_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A safety-net tick far beyond every call's timeout: only order events can end a wait."""
    monkeypatch.setattr(ib_session, "POLL_S", 60.0)


def test_submit_when_only_events_wake_then_acked_and_no_waiter_left(
    running: RunningWriter, events_only: None
) -> None:
    for n in range(3):
        assert submit(running, f"key-wake-{n}").order.status == "Submitted"
    # A waiter left registered would be woken (and kept) for ever: the index must be empty.
    assert running.handle.session._wakers == {}


def test_submit_when_rejected_and_only_events_wake_then_error_wakes_its_waiter(
    running: RunningWriter, events_only: None
) -> None:
    running.sim.reject_next_order(201, "Order rejected - reason: test")
    with pytest.raises(grpc.RpcError) as call:
        submit(running, "key-wake-rej")
    assert call.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert running.handle.session._wakers == {}


def test_cancel_when_only_events_wake_then_cancelled(
    running: RunningWriter, events_only: None
) -> None:
    placed = submit(running, "key-wake-cancel", limit_order(price="100.00"))
    cancelled = running.policy.CancelOrder(
        writer_pb2.WriterCancelOrderRequest(
            request_id="r2",
            account_id=ACCOUNT,
            broker_order_id=placed.order.broker_order_id,
            idempotency_key="key-wake-cancel-c",
        ),
        timeout=10,
    )
    assert cancelled.order.status == "Cancelled"
    assert running.handle.session._wakers == {}


def test_placed_order_when_formatted_then_short_and_names_the_order() -> None:
    order = ib_order_for(SPEC, ACCOUNT, "key-1", 42)
    contract = placement_contract_for(SPEC.instrument)
    assert isinstance(order, Order) and isinstance(contract, Contract)
    text = f"{Trade(contract, order, OrderStatus(orderId=42, status='Submitted'), [], [])}"
    assert "orderId=42" in text and "orderRef='key-1'" in text and "symbol='AAPL'" in text


def test_spec_from_ib_when_placed_order_then_same_spec_back() -> None:
    order = ib_order_for(SPEC, ACCOUNT, "key-1", 42)
    assert spec_from_ib(placement_contract_for(SPEC.instrument), order) == SPEC


@pytest.mark.parametrize(
    ("field", "value"),
    [("orderType", "TRAIL"), ("action", "SSHORT"), ("tif", "IOC")],
)
def test_spec_from_ib_when_outside_what_livegate_places_then_none(field: str, value: str) -> None:
    order = ib_order_for(SPEC, ACCOUNT, "key-1", 42)
    setattr(order, field, value)
    assert spec_from_ib(placement_contract_for(SPEC.instrument), order) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("189.25"), Decimal("189.25")),
        (Decimal("1E+2"), Decimal("1E+2")),
        (Decimal("NaN"), None),
        (Decimal("Infinity"), None),
        (189.25, Decimal("189.25")),
        (1.7976931348623157e308, None),  # IB's unset double
        ("", None),
        (None, None),
    ],
)
def test_to_decimal_when_broker_number_then_exact_or_none(
    value: object, expected: Decimal | None
) -> None:
    got = to_decimal(value)
    assert got == expected and (got is None or str(got) == str(expected))


def _kept(logger: logging.Logger, level: int, msg: str) -> bool:
    return bool(logger.filter(logger.makeRecord(logger.name, level, "f", 1, msg, (), None)))


def test_quiet_order_chatter_when_info_then_only_per_order_lines_dropped() -> None:
    wrapper, ib = logging.getLogger("ib_async.wrapper"), logging.getLogger("ib_async.ib")
    restore = log_redaction.quiet_order_chatter("INFO")
    try:
        assert not _kept(ib, logging.INFO, "placeOrder: New order Trade(...)")
        assert not _kept(wrapper, logging.INFO, "orderStatus: Trade(...)")
        assert not _kept(wrapper, logging.INFO, "openOrder: Trade(...)")
        # ib_async's other INFO lines, and its warnings about orders, still show.
        assert _kept(wrapper, logging.INFO, "Warning 2110, reqId -1: Connectivity is broken")
        assert _kept(wrapper, logging.WARNING, "orderStatus: Trade(...)")
        assert _kept(wrapper, logging.INFO, "execDetails: Fill(...)")
    finally:
        restore()
    assert _kept(wrapper, logging.INFO, "orderStatus: Trade(...)")


def test_quiet_order_chatter_when_debug_then_every_line_kept() -> None:
    wrapper = logging.getLogger("ib_async.wrapper")
    restore = log_redaction.quiet_order_chatter("DEBUG")
    try:
        assert _kept(wrapper, logging.INFO, "orderStatus: Trade(...)")
    finally:
        restore()


def test_placed_order_when_sent_then_same_bytes_as_a_stock_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ib_async import IB

    client = IB().client
    sent: list[str] = []
    monkeypatch.setattr(client, "isConnected", lambda: True)
    monkeypatch.setattr(client, "sendMsg", sent.append)
    client._serverVersion = client.MaxClientVersion
    placed = ib_order_for(SPEC, ACCOUNT, "key-1", 42)
    stock = Order(**{f: getattr(placed, f) for f in vars(Order())})
    contract = placement_contract_for(SPEC.instrument)
    client.placeOrder(42, contract, placed)
    client.placeOrder(42, Contract(**vars(contract)), stock)
    assert type(stock) is Order and sent[0] == sent[1]
