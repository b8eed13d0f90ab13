"""Cancel-all: livegate's own orders by orderRef, the broker-wide option, and false answers."""

from __future__ import annotations

import grpc
import pytest

from gateway_sim.faults import CancelScript
from gateway_sim.server import GatewaySimulator
from livegate_api.v1 import common_pb2, writer_pb2
from tests.support.net import wait_until
from tests.support.writers import ACCOUNT
from tests.writer.conftest import RunningWriter
from tests.writer.test_orders import limit_order, refusal, stop_order, submit
from tests.writer.test_start import place_foreign_order
from writer_service.orders import is_livegate_ref

HAND_CLIENT_ID = 99  # tests.writer.test_start.place_foreign_order's


def place_by_hand(sim: GatewaySimulator) -> None:
    """An order without orderRef from another client id, as TWS by hand or another program."""
    place_foreign_order(sim.port)
    assert wait_until(lambda: any(o.client_id == HAND_CLIENT_ID for o in sim.orders()))


def _bracket(running: RunningWriter, key: str) -> writer_pb2.WriterBracketResult:
    return running.policy.SubmitBracket(
        writer_pb2.WriterSubmitBracketRequest(
            account_id=ACCOUNT,
            parent=limit_order("5", "150.00"),
            take_profit=limit_order("5", "160.00", common_pb2.ACTION_SELL),
            stop_loss=stop_order("5", "140.00"),
            idempotency_key=key,
        ),
        timeout=10,
    )


def _cancel_all(
    running: RunningWriter, broker_wide: bool = False
) -> writer_pb2.CancelAllOrdersResponse:
    return running.policy.CancelAllOrders(
        writer_pb2.CancelAllOrdersRequest(reason="incident", broker_wide=broker_wide), timeout=30
    )


def _hand_status(running: RunningWriter) -> str:
    return next(o.status for o in running.sim.orders() if o.client_id == HAND_CLIENT_ID)


def test_cancel_all_when_hand_placed_and_livegate_orders_work_then_only_livegates_cancelled(
    running: RunningWriter,
) -> None:
    place_by_hand(running.sim)
    single = submit(running, "key-one").order
    bracket = _bracket(running, "key-br")
    response = _cancel_all(running)
    ours = {
        single.broker_order_id: "key-one",
        bracket.parent.broker_order_id: "key-br",
        bracket.take_profit.broker_order_id: "key-br~tp",
        bracket.stop_loss.broker_order_id: "key-br~sl",
    }
    assert {o.broker_order_id: o.order_ref for o in response.cancelled} == ours
    assert all(o.status in ("Cancelled", "ApiCancelled") for o in response.cancelled)
    assert all(o.account_id == ACCOUNT and o.perm_id > 0 for o in response.cancelled)
    assert (response.cancelled_orders, list(response.still_working)) == (4, [])
    assert (response.foreign_orders_left, response.broker_wide) == (1, False)
    assert _hand_status(running) in ("Submitted", "PreSubmitted")
    writes = [w.name for w in running.sim.received_writes()]
    assert "REQ_GLOBAL_CANCEL" not in writes


def test_cancel_all_when_broker_wide_then_hand_placed_order_cancelled_too(
    running: RunningWriter,
) -> None:
    place_by_hand(running.sim)
    single = submit(running, "key-one").order
    response = _cancel_all(running, broker_wide=True)
    assert [w.name for w in running.sim.received_writes()][-1] == "REQ_GLOBAL_CANCEL"
    assert _hand_status(running) == "Cancelled"
    refs = sorted(o.order_ref for o in response.cancelled)
    assert refs == ["", "key-one"]
    assert single.broker_order_id in {o.broker_order_id for o in response.cancelled}
    assert (response.foreign_orders_left, response.broker_wide) == (0, True)
    assert list(response.still_working) == []


@pytest.mark.parametrize(
    ("outcome", "status"), [("false_cancel", "Filled"), ("ignore", "Submitted")]
)
def test_cancel_all_when_broker_answers_falsely_then_reported_still_working_not_cancelled(
    running: RunningWriter, outcome: str, status: str
) -> None:
    placed = submit(running, "key-false").order
    running.sim.script_cancels(CancelScript(outcome=outcome))
    response = _cancel_all(running)
    assert list(response.cancelled) == [] and response.cancelled_orders == 0
    assert [(o.broker_order_id, o.order_ref, o.status) for o in response.still_working] == [
        (placed.broker_order_id, "key-false", status)
    ]


def test_cancel_all_when_open_orders_go_unanswered_then_broker_timeout_and_nothing_sent(
    running: RunningWriter,
) -> None:
    placed = submit(running, "key-blind").order
    running.sim.drop("open_orders")
    sent = len(running.sim.received_writes())
    with pytest.raises(grpc.RpcError) as call:
        _cancel_all(running)
    assert refusal(call)[:2] == (grpc.StatusCode.DEADLINE_EXCEEDED, "BROKER_TIMEOUT")
    assert running.sim.received_writes()[sent:] == []
    assert [o.order_id for o in running.sim.working_orders()] == [placed.broker_order_id]


@pytest.mark.parametrize(
    ("order_ref", "livegate"),
    [
        ("k-1f2e", True),
        ("key-br~tp", True),
        ("key-br~sl", True),
        ("", False),
        ("~tp", False),
        ("hand order", False),
        ("key~xx", False),
        ("k" * 65, False),
    ],
)
def test_is_livegate_ref_when_ref_is_a_key_or_a_legs_then_true_else_false(
    order_ref: str, livegate: bool
) -> None:
    assert is_livegate_ref(order_ref) is livegate
