"""Through the real policy service and the real writer to the simulator, and back."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import new_key, reason_of
from tests.support.net import wait_until
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault


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


def test_open_orders_when_broker_fills_them_then_they_stop_counting(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    """A filled order frees its place under max_open_orders; a resting one keeps it."""
    with live_stack(dev_pki, tmp_path, stack_vault, limits={"max_open_orders": 2}) as stack:
        engine = sa.create_engine(stack.db_url, poolclass=sa.pool.NullPool)

        def counted() -> set[int]:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT broker_order_id FROM open_orders"))
                return {int(r.broker_order_id) for r in rows}

        try:
            resting = stack.submit(*stack.approved()).order.broker_order_id
            # Above the simulator's ask (189.30): the broker fills it at once.
            filled = stack.submit(*stack.approved(limit="190.00")).order.broker_order_id
            assert counted() == {resting, filled}
            # The writer learns of the fill from the broker's events; the check then uncounts it.
            assert wait_until(lambda: stack.policy.service.open_orders.run() == 1, timeout_s=10), (
                counted()
            )
            assert counted() == {resting}
            stack.submit(*stack.approved())  # room for one more again
        finally:
            engine.dispose()
