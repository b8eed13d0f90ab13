"""Through the real policy service and the real writer to the simulator, and back."""

from __future__ import annotations

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import new_key, reason_of
from tests.support.stack import Stack


def test_submit_when_every_gate_step_passes_then_one_order_reaches_broker_with_key_as_ref(
    stack: Stack,
) -> None:
    preview_id, approval_id = stack.approved(qty="3")
    key = new_key()
    reply = stack.submit(preview_id, approval_id, key)
    orders = stack.broker_orders_with_ref(key)
    assert len(orders) == 1
    assert reply.order.broker_order_id == orders[0].order_id
    assert str(orders[0].total_quantity) == "3"
    again = stack.submit(preview_id, approval_id, key)
    assert again.replayed and again.order.broker_order_id == reply.order.broker_order_id
    assert len(stack.broker_orders_with_ref(key)) == 1


def test_submit_when_kill_switch_closed_then_nothing_reaches_the_broker(stack: Stack) -> None:
    preview_id, approval_id = stack.approved()
    reply = stack.policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="e2e"),
        timeout=10,
    )
    assert reply.writer_synced
    writes_before = len(stack.sim.received_writes())
    with pytest.raises(grpc.RpcError) as err:
        stack.submit(preview_id, approval_id)
    assert reason_of(err.value) == "KILL_SWITCH_CLOSED"
    assert len(stack.sim.received_writes()) == writes_before


def test_cancel_when_order_is_resting_then_broker_cancels_it(stack: Stack) -> None:
    preview_id, approval_id = stack.approved()
    placed = stack.submit(preview_id, approval_id)
    reply = stack.policy.upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id="U1234567",
            broker_order_id=placed.order.broker_order_id,
            idempotency_key=new_key(),
        ),
        timeout=15,
    )
    assert reply.order.status in ("Cancelled", "PendingCancel")
    [order] = [o for o in stack.sim.orders() if o.order_id == placed.order.broker_order_id]
    assert order.status == "Cancelled"


def test_cancel_when_broker_has_no_such_order_then_not_found_and_key_closed(stack: Stack) -> None:
    """A definite 'no such order' from the writer closes the key; it is not left in doubt."""
    request = policy_pb2.CancelOrderRequest(
        account_id="U1234567", broker_order_id=987654, idempotency_key=new_key()
    )
    writes_before = len(stack.sim.received_writes())
    for _ in range(2):  # the retry gets the recorded answer, not "outcome unknown"
        with pytest.raises(grpc.RpcError) as err:
            stack.policy.upstream.CancelOrder(request, timeout=15)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert reason_of(err.value) == "ORDER_NOT_FOUND"
    assert len(stack.sim.received_writes()) == writes_before
