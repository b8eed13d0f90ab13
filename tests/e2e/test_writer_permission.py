"""A writer whose gateway stops matching its role, seen through the policy: GetLiveStatus says
why, and a write is refused with the writer's reason, its key closed and nothing placed."""

from __future__ import annotations

import grpc
import pytest

from livegate_api.v1 import policy_pb2
from tests.policy.harness import new_key, reason_of
from tests.support.net import wait_until
from tests.support.stack import Stack


def _permission(stack: Stack) -> policy_pb2.EnablementCondition:
    status = stack.policy.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    [condition] = [c for c in status.conditions if c.name == "writer.permission"]
    return condition


def test_live_status_when_w_gateway_turns_read_only_then_permission_fails_and_writes_refused(
    stack: Stack,
) -> None:
    assert _permission(stack).passed
    preview_id, approval_id = stack.approved()
    stack.sim.set_read_only(True, flavor="what_if_refused")
    stack.sim.drop_connections()  # the writer probes again on its reconnect
    assert wait_until(lambda: "MISMATCH" in _permission(stack).detail, timeout_s=20)
    condition = _permission(stack)
    orders = stack.sim.orders()
    key = new_key()
    with pytest.raises(grpc.RpcError) as refused:
        stack.submit(preview_id, approval_id, key=key)
    assert not condition.passed and "verdict=PROBE_VERDICT_MISMATCH" in condition.detail
    assert "what_if: error 321" in condition.detail
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(refused.value) == "WRITER_PERMISSION_UNPROVEN"
    assert stack.sim.orders() == orders
    # Nothing is at the broker, so the key is closed, not left pending: a retry replays it.
    with pytest.raises(grpc.RpcError) as replayed:
        stack.submit(preview_id, approval_id, key=key)
    assert reason_of(replayed.value) == reason_of(refused.value)
