"""The writer's own step 2 for characters, and a close that a bad reason text cannot stop."""

from __future__ import annotations

import grpc
import pytest

from livegate_api.v1 import common_pb2, writer_pb2
from tests.support.writers import ACCOUNT
from tests.writer.conftest import RunningWriter
from tests.writer.test_orders import limit_order, refusal


def test_submit_when_symbol_holds_nul_then_field_invalid_and_nothing_sent(
    running: RunningWriter,
) -> None:
    order = limit_order()
    order.instrument.symbol = "AAPL\x00"
    writes = len(running.sim.received_writes())
    with pytest.raises(grpc.RpcError) as refused:
        running.policy.SubmitOrder(
            writer_pb2.WriterSubmitOrderRequest(
                request_id="r1", account_id=ACCOUNT, order=order, idempotency_key="k-nul-1"
            ),
            timeout=10,
        )
    code, reason, meta = refusal(refused)
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "FIELD_INVALID")
    assert (meta["field"], meta["code_point"]) == ("order.instrument.symbol", "U+0000")
    assert len(running.sim.received_writes()) == writes


def test_close_when_reason_holds_bidi_override_then_writer_still_closes(
    running: RunningWriter,
) -> None:
    answer = running.policy.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="stop\u202e", version=2
        ),
        timeout=10,
    )
    assert answer.kill_switch.state == common_pb2.KILL_SWITCH_STATE_CLOSED
    assert "\u202e" not in answer.kill_switch.reason
    assert "U+202E" in answer.kill_switch.reason


def test_open_when_reason_holds_nul_then_refused_and_switch_unchanged(
    running: RunningWriter,
) -> None:
    running.policy.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="stop", version=2
        ),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as refused:
        running.policy.SetKillSwitch(
            writer_pb2.WriterSetKillSwitchRequest(
                state=common_pb2.KILL_SWITCH_STATE_OPEN, reason="go\x00", version=3
            ),
            timeout=10,
        )
    code, reason, meta = refusal(refused)
    assert (code, reason, meta["field"]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "FIELD_INVALID",
        "reason",
    )
    state = running.policy.GetKillSwitch(writer_pb2.WriterGetKillSwitchRequest(), timeout=5)
    assert state.state == common_pb2.KILL_SWITCH_STATE_CLOSED
