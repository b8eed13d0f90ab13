"""The close against the real writer and simulator: cancel-all, and a writer that is down."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gateway_sim.faults import CancelScript
from livegate_api.v1 import common_pb2, policy_pb2, writer_pb2
from livegate_api.v1.writer_pb2_grpc import WriterServiceStub
from tests.support.grpc_clients import channel_as
from tests.support.stack import Stack
from tests.writer.test_cancel_all import place_by_hand

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED


def _livegate(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "livegate"), "killswitch", *args,
        "--target", f"localhost:{stack.policy.port}", "--pki", str(stack.pki),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_close_when_cancel_all_requested_then_the_simulators_orders_are_cancelled(
    stack: Stack,
) -> None:
    placed = [stack.submit(*stack.approved()).order.broker_order_id for _ in range(2)]
    assert {o.order_id for o in stack.sim.working_orders()} >= set(placed)
    reply = stack.policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(
            state=CLOSED, reason="incident", cancel_all_open_orders=True
        ),
        timeout=30,
    )
    assert reply.writer_state == policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_CLOSED
    assert reply.cancelled_orders == 2
    by_id = {o.order_id: o for o in stack.sim.orders()}
    assert [by_id[i].status for i in placed] == ["Cancelled", "Cancelled"]
    assert stack.sim.working_orders() == []
    events = stack.policy.operator.ListAuditEvents(
        policy_pb2.ListAuditEventsRequest(page_size=1000), timeout=10
    ).events
    cancel_all = [e for e in events if e.method == "CancelAllOrders"]
    assert [(e.outcome, e.detail["cancelled"]) for e in cancel_all] == [("EXECUTED", "2")]


def test_close_when_writer_is_down_then_not_confirmed_and_the_cli_exits_non_zero(
    stack: Stack,
) -> None:
    confirmed = _livegate(stack, "close", "--reason", "drill")
    assert confirmed.returncode == 0, confirmed.stderr
    assert json.loads(confirmed.stdout)["writer_state"] == "WRITER_SWITCH_STATE_CONFIRMED_CLOSED"
    stack.writer.stop()
    try:
        down = _livegate(stack, "close", "--reason", "writer down")
        assert down.returncode != 0
        body = json.loads(down.stdout)
        assert body["writer_state"] == "WRITER_SWITCH_STATE_NOT_CONFIRMED"
        assert "writer_synced" not in body  # proto3 JSON drops a false bool: the enum says it
        assert body["kill_switch"]["state"] == "KILL_SWITCH_STATE_CLOSED"
        assert "not confirmed CLOSED" in down.stderr
        assert stack.policy.service.store.kill_switch().state.value == "CLOSED"
    finally:
        stack.start_writer()  # the stack's teardown stops this one


def test_open_when_writer_answers_closed_then_not_confirmed_and_the_cli_exits_non_zero(
    stack: Stack,
) -> None:
    """writer_synced and writer_state come from what the writer answered, not from the call
    having returned: a writer that closed above the policy's version answers CLOSED to an OPEN."""
    writer = WriterServiceStub(channel_as(stack.pki, "policy", stack.writer.port))
    writer.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=CLOSED, reason="another replica's close", version=10**9
        ),
        timeout=5,
    )
    _livegate(stack, "close", "--reason", "before reopening")
    asked = _livegate(stack, "open", "--reason", "all clear")
    assert asked.returncode == 0, asked.stderr
    assert "confirm-reopen" in asked.stderr  # the switch stays closed until a second operator
    reopen_id = json.loads(asked.stdout)["kill_switch"]["pending_reopen"]["reopen_id"]
    reopened = _livegate(
        stack, "confirm-reopen", reopen_id, "--reason", "checked", "--identity", "operator2"
    )
    assert reopened.returncode != 0
    body = json.loads(reopened.stdout)
    assert body["kill_switch"]["state"] == "KILL_SWITCH_STATE_OPEN"  # the policy opened
    assert body["writer_state"] == "WRITER_SWITCH_STATE_NOT_CONFIRMED"
    assert "not confirmed OPEN" in reopened.stderr
    assert not stack.writer.kill_switch.is_open()


def test_close_when_cli_asks_broker_wide_cancel_then_the_hand_placed_order_is_cancelled_too(
    stack: Stack,
) -> None:
    place_by_hand(stack.sim)
    placed = stack.submit(*stack.approved()).order.broker_order_id
    closed = _livegate(stack, "close", "--reason", "incident", "--cancel-all", "--broker-wide")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["cancelled_orders"] == 2
    assert stack.sim.working_orders() == []
    assert [w.name for w in stack.sim.received_writes()][-1] == "REQ_GLOBAL_CANCEL"
    events = stack.policy.operator.ListAuditEvents(
        policy_pb2.ListAuditEventsRequest(page_size=1000), timeout=10
    ).events
    [cancel_all] = [e for e in events if e.method == "CancelAllOrders"]
    assert (cancel_all.detail["broker_wide"], cancel_all.detail["foreign_orders_left"]) == (
        "true",
        "0",
    )
    assert str(placed) in cancel_all.detail["cancelled_broker_order_ids"].split(",")


def test_close_when_the_broker_ignores_a_cancel_then_audited_as_still_working_not_cancelled(
    stack: Stack,
) -> None:
    placed = stack.submit(*stack.approved()).order.broker_order_id
    stack.sim.script_cancels(CancelScript(outcome="ignore"))
    reply = stack.policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(
            state=CLOSED, reason="incident", cancel_all_open_orders=True
        ),
        timeout=30,
    )
    assert reply.cancelled_orders == 0
    assert [o.order_id for o in stack.sim.working_orders()] == [placed]
    events = stack.policy.operator.ListAuditEvents(
        policy_pb2.ListAuditEventsRequest(page_size=1000), timeout=10
    ).events
    [cancel_all] = [e for e in events if e.method == "CancelAllOrders"]
    assert cancel_all.detail["still_working_broker_order_ids"] == str(placed)
    assert cancel_all.detail["cancelled_broker_order_ids"] == ""
