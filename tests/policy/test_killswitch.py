"""The kill switch: durable with history, synced to the writer before the close returns."""

from __future__ import annotations

import json

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.conftest import MakePolicy
from tests.policy.fake_writer import QUERIES_REFUSED
from tests.policy.harness import Harness, reason_of
from tests.support.net import wait_until

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
OPEN = common_pb2.KILL_SWITCH_STATE_OPEN


def _set(
    h: Harness, state: common_pb2.KillSwitchState, cancel_all: bool = False
) -> policy_pb2.SetKillSwitchResponse:
    return h.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(
            state=state, reason="drill", cancel_all_open_orders=cancel_all
        )
    )


def test_close_when_called_then_writer_closed_before_it_returns(policy: Harness) -> None:
    before = policy.service.store.kill_switch().version
    res = _set(policy, CLOSED)
    assert res.writer_synced
    assert policy.writer.servicer.state.kill_switch == CLOSED
    assert res.kill_switch.version == before + 1
    assert res.kill_switch.changed_by == "operator"
    history = policy.rows("kill_switch_history")
    assert [h["state"] for h in history][-2:] == ["OPEN", "CLOSED"]
    assert history[-1]["request_id"]


def test_close_when_cancel_all_requested_then_open_orders_cancelled_and_audited(
    policy: Harness,
) -> None:
    policy.submit(*policy.approved())
    res = _set(policy, CLOSED, cancel_all=True)
    assert res.cancelled_orders == 1
    assert policy.last_audit()["method"] == "CancelAllOrders"


def test_close_when_writer_unreachable_then_still_closed_and_unsynced(policy: Harness) -> None:
    policy.writer.stop()
    res = _set(policy, CLOSED)
    assert not res.writer_synced
    assert res.writer_state == policy_pb2.WRITER_SWITCH_STATE_NOT_CONFIRMED
    assert res.kill_switch.state == CLOSED
    assert policy.service.store.kill_switch().state.value == "CLOSED"
    event = policy.last_audit()  # the close's own event says what the writer answered
    assert event["method"] == "SetKillSwitch"
    detail = json.loads(event["detail"])
    assert detail["writer_state"] == "NOT_CONFIRMED" and "UNAVAILABLE" in detail["writer_error"]


def test_open_when_writer_permission_mismatch_then_refused(make_policy: MakePolicy) -> None:
    h = make_policy(open_switch=False)
    h.writer.servicer.state.gateway = QUERIES_REFUSED  # the W writer's gateway went read-only
    with pytest.raises(grpc.RpcError) as caught:
        _set(h, OPEN)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(caught.value) == "KILL_SWITCH_OPEN_REFUSED"
    assert h.service.store.kill_switch().state.value == "CLOSED"


def test_open_when_live_trading_disabled_then_refused(make_policy: MakePolicy) -> None:
    h = make_policy(
        open_switch=False,
        overrides={"live_trading.enabled": False, "safety.live_trading_enabled": False},
    )
    with pytest.raises(grpc.RpcError) as caught:
        _set(h, OPEN)
    assert "live_trading.enabled" in (caught.value.details() or "")


def test_set_when_caller_lacks_scope_then_permission_denied(policy: Harness) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        policy.upstream.SetKillSwitch(policy_pb2.SetKillSwitchRequest(state=CLOSED, reason="x"))
    assert reason_of(caught.value) == "SCOPE_MISSING"
    assert policy.service.store.kill_switch().state.value == "OPEN"


def test_sync_when_writer_restarts_closed_then_policy_reopens_it(policy: Harness) -> None:
    policy.writer.servicer.state.kill_switch = CLOSED
    policy.writer.servicer.state.kill_switch_version = 0
    assert wait_until(lambda: policy.writer.servicer.state.kill_switch == OPEN, 5)


def test_live_status_when_all_conditions_hold_then_enabled(policy: Harness) -> None:
    status = policy.approver.GetLiveStatus(policy_pb2.GetLiveStatusRequest())
    assert status.live_enabled, [(c.name, c.detail) for c in status.conditions if not c.passed]
    assert {c.name for c in status.conditions} >= {
        "live_trading.enabled",
        "safety.live_trading_enabled",
        "audit.retention",
        "kill_switch",
        "writer.permission",
        "live_trading.risk_policy_id",
    }


def test_request_id_when_sent_by_caller_then_echoed_and_forwarded(policy: Harness) -> None:
    pid, aid = policy.approved()
    _, call = policy.upstream.SubmitOrder.with_call(
        policy_pb2.SubmitOrderRequest(
            account_id="U1234567", preview_id=pid, approval_id=aid, idempotency_key="k-req-id-0001"
        ),
        metadata=(("x-request-id", "req-42<script>"),),
    )
    assert ("x-request-id", "req-42script") in call.trailing_metadata()
    assert policy.writer.servicer.calls("SubmitOrder")[0].request_id == "req-42script"


def test_close_when_submits_in_flight_then_nothing_reaches_broker_after_return(
    policy: Harness,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    approved = [policy.approved() for _ in range(24)]

    def attempt(pair: tuple[str, str]) -> None:
        try:
            policy.submit(*pair)
        except grpc.RpcError as err:
            # Refused by the policy's switch, or (past step 6 when the close landed) by the
            # writer's, which the close synced before returning, or at step 8 by the close's
            # revocation of every outstanding approval.
            by_close = ("KILL_SWITCH_CLOSED", "WRITER_KILL_SWITCH_CLOSED", "APPROVAL_REVOKED")
            assert reason_of(err) in by_close, err

    with ThreadPoolExecutor(max_workers=8) as pool:
        pending = [pool.submit(attempt, pair) for pair in approved]
        # The close must land with submits already through: otherwise the test proves nothing.
        assert wait_until(lambda: len(policy.writer.servicer.state.orders) >= 2, 5, 0.005)
        _set(policy, CLOSED)
        placed_at_close = len(policy.writer.servicer.state.orders)
        for future in pending:
            future.result(timeout=20)
    assert len(policy.writer.servicer.state.orders) == placed_at_close
    assert placed_at_close < len(approved)
