"""The guarded reopen over the whole stack (simulator, OpenBao, the real writer, SQLite and two
replicas on PostgreSQL): a second operator, a verified audit chain, every live-status condition."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from tests.policy.attacker import Attacker
from tests.policy.conftest import pg, pg_url  # noqa: F401 - the PostgreSQL fixtures
from tests.policy.harness import AUDIT_EVERY_REFUSAL, FakeClock, meta_of, reason_of
from tests.support.audit_rows import events_by_request
from tests.support.grpc_clients import channel_as
from tests.support.stack import MakeStack, Replica, Stack, stack_factory
from tests.support.vault import DevVault

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
OPEN = common_pb2.KILL_SWITCH_STATE_OPEN
# Every refusal its own audit event; no scheduled verification racing the test's own calls.
OVERRIDES = {**AUDIT_EVERY_REFUSAL, "audit.verify_interval_s": 3600}


@pytest.fixture
def make_stack(dev_pki: Path, tmp_path: Path, stack_vault: DevVault) -> Iterator[MakeStack]:
    with ExitStack() as cleanup:
        yield stack_factory(cleanup, dev_pki, tmp_path, stack_vault, policy_overrides=OVERRIDES)


@pytest.fixture
def closed(make_stack: MakeStack) -> Stack:
    """A stack whose switch was opened (the guarded way) and then closed by one operator."""
    stack = make_stack()
    _close(stack.policy)
    return stack


def _second(stack: Stack, replica: Replica | None = None) -> policy_pb2_grpc.PolicyServiceStub:
    port = (replica or stack.policy).port
    channel = channel_as(stack.pki, "operator2", port)
    stack.policy.channels.append(channel)  # closed with the replica
    return policy_pb2_grpc.PolicyServiceStub(channel)


def _rid() -> str:
    return f"rid-{uuid.uuid4().hex[:12]}"


def _close(
    replica: Replica, reason: str = "INC-1 stop", rid: str = ""
) -> policy_pb2.SetKillSwitchResponse:
    reply = replica.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=CLOSED, reason=reason),
        metadata=(("x-request-id", rid or _rid()),),
        timeout=10,
    )
    assert reply.kill_switch.state == CLOSED
    return reply


def _request(
    stub: policy_pb2_grpc.PolicyServiceStub, rid: str, reason: str = "INC-1 resolved"
) -> policy_pb2.SetKillSwitchResponse:
    return stub.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=OPEN, reason=reason),
        metadata=(("x-request-id", rid),),
        timeout=30,
    )


def _confirm(
    stub: policy_pb2_grpc.PolicyServiceStub, reopen_id: str, rid: str
) -> policy_pb2.SetKillSwitchResponse:
    return stub.ConfirmReopen(
        policy_pb2.ConfirmReopenRequest(reopen_id=reopen_id, reason="checked: all clear"),
        metadata=(("x-request-id", rid),),
        timeout=30,
    )


def _refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def _events(stack: Stack, rid: str) -> list[dict[str, Any]]:
    """The audit events of one request id, oldest first."""
    return events_by_request(stack.db_url, rid)


def _state(stack: Stack, replica: Replica | None = None) -> common_pb2.KillSwitch:
    stub = (replica or stack.policy).operator
    return stub.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=10)


def _assert_refusal_audited(stack: Stack, rid: str, reason: str) -> None:
    [event] = _events(stack, rid)
    assert (event["outcome"], event["reason"]) == ("REFUSED", reason)


def test_reopen_when_one_operator_asks_then_closed_until_confirmed_and_a_second_ask_refused(
    closed: Stack,
) -> None:
    stack, rid = closed, _rid()
    asked = _request(stack.policy.operator, rid)

    pending = asked.kill_switch.pending_reopen
    assert asked.kill_switch.state == CLOSED and pending.reopen_id
    assert (pending.requested_by, pending.reason, pending.request_id) == (
        "operator", "INC-1 resolved", rid,
    )  # fmt: skip
    assert pending.expires_at.seconds - pending.requested_at.seconds == 300
    assert not stack.writer.kill_switch.is_open()
    shown = _state(stack)  # GetKillSwitch shows the pending reopen too
    assert shown.state == CLOSED and shown.pending_reopen == pending
    [event] = _events(stack, rid)
    assert (event["method"], event["outcome"], event["detail"]["reopen"]) == (
        "SetKillSwitch", "RECORDED", "REQUESTED",
    )  # fmt: skip
    assert (event["principal"], event["detail"]["reopen_id"]) == ("operator", pending.reopen_id)

    again, confirm = _rid(), _rid()
    refused = _refused(lambda: _request(stack.policy.operator, again))
    by_self = _refused(lambda: _confirm(stack.policy.operator, pending.reopen_id, confirm))

    for err in (refused, by_self):
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(err) == "REOPEN_SAME_OPERATOR"
        assert meta_of(err)["requested_by"] == "operator"
    _assert_refusal_audited(stack, again, "REOPEN_SAME_OPERATOR")
    _assert_refusal_audited(stack, confirm, "REOPEN_SAME_OPERATOR")
    assert _state(stack).state == CLOSED and not stack.writer.kill_switch.is_open()


def test_confirm_when_a_second_operator_confirms_in_time_then_open_at_policy_and_writer(
    closed: Stack,
) -> None:
    stack, rid = closed, _rid()
    pending = _request(stack.policy.operator, _rid()).kill_switch.pending_reopen

    opened = _confirm(_second(stack), pending.reopen_id, rid)

    assert opened.kill_switch.state == OPEN and opened.kill_switch.changed_by == "operator2"
    assert opened.writer_state == policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_OPEN
    assert stack.writer.kill_switch.is_open()
    assert not _state(stack).HasField("pending_reopen")
    event = _events(stack, rid)[0]
    assert (event["method"], event["principal"], event["kill_switch_state"]) == (
        "ConfirmReopen", "operator2", "OPEN",
    )  # fmt: skip
    detail = event["detail"]
    assert (detail["reopen"], detail["reopen_id"], detail["requested_by"]) == (
        "CONFIRMED", pending.reopen_id, "operator",
    )  # fmt: skip
    assert stack.submit(*stack.approved()).order.broker_order_id > 0


def test_confirm_when_the_window_has_passed_then_refused_expired_and_still_closed(
    make_stack: MakeStack,
) -> None:
    clock = FakeClock()
    stack = make_stack(clock=clock)
    _close(stack.policy)
    pending = _request(stack.policy.operator, _rid()).kill_switch.pending_reopen
    clock.advance(301)
    rid = _rid()

    err = _refused(lambda: _confirm(_second(stack), pending.reopen_id, rid))

    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(err) == "REOPEN_EXPIRED"
    _assert_refusal_audited(stack, rid, "REOPEN_EXPIRED")
    assert _state(stack).state == CLOSED and not stack.writer.kill_switch.is_open()
    assert not _state(stack).HasField("pending_reopen")


def test_reopen_when_the_audit_chain_is_broken_then_refused_at_the_request(
    closed: Stack,
) -> None:
    stack, rid = closed, _rid()
    Attacker(stack.db_url).edit(2, "principal", "mallory")

    err = _refused(lambda: _request(stack.policy.operator, rid))

    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(err) == "REOPEN_AUDIT_UNVERIFIED"
    assert meta_of(err)["audit_problem"] == "AUDIT_LINK_MISMATCH"
    _assert_refusal_audited(stack, rid, "REOPEN_AUDIT_UNVERIFIED")
    assert _state(stack).state == CLOSED and not _state(stack).HasField("pending_reopen")


def test_confirm_when_the_audit_chain_broke_after_the_request_then_refused_and_cancelled(
    closed: Stack,
) -> None:
    stack, rid = closed, _rid()
    pending = _request(stack.policy.operator, _rid()).kill_switch.pending_reopen
    Attacker(stack.db_url).edit(2, "principal", "mallory")

    err = _refused(lambda: _confirm(_second(stack), pending.reopen_id, rid))

    assert reason_of(err) == "REOPEN_AUDIT_UNVERIFIED"
    _assert_refusal_audited(stack, rid, "REOPEN_AUDIT_UNVERIFIED")
    assert _state(stack).state == CLOSED and not stack.writer.kill_switch.is_open()
    # The break found closed the switch again, as any verification does: that close
    # cancelled the request, so it cannot be confirmed later either.
    assert not _state(stack).HasField("pending_reopen")
    late = _refused(lambda: _confirm(_second(stack), pending.reopen_id, _rid()))
    assert reason_of(late) == "REOPEN_NOT_REQUESTED"


def test_reopen_when_the_writer_is_unreachable_then_refused_at_request_and_confirmation(
    closed: Stack,
) -> None:
    stack = closed
    pending = _request(stack.policy.operator, _rid()).kill_switch.pending_reopen
    stack.writer.stop()
    try:
        at_request, at_confirm = _rid(), _rid()
        asked = _refused(lambda: _request(_second(stack), at_request))
        confirmed = _refused(lambda: _confirm(_second(stack), pending.reopen_id, at_confirm))

        for err, rid in ((asked, at_request), (confirmed, at_confirm)):
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert reason_of(err) == "KILL_SWITCH_OPEN_REFUSED"
            assert "writer.permission" in meta_of(err)["failed"].split(",")
            _assert_refusal_audited(stack, rid, "KILL_SWITCH_OPEN_REFUSED")
        assert stack.policy.service.store.kill_switch().state.value == "CLOSED"
    finally:
        stack.start_writer()  # the stack's teardown stops this one


def test_close_when_a_reopen_is_pending_then_the_request_is_cancelled(closed: Stack) -> None:
    stack, close_rid = closed, _rid()
    pending = _request(stack.policy.operator, _rid()).kill_switch.pending_reopen

    _close(stack.policy, "INC-2 again", close_rid)

    [event] = _events(stack, close_rid)
    assert event["detail"]["reopen_cancelled"] == pending.reopen_id
    assert not _state(stack).HasField("pending_reopen")
    rid = _rid()
    err = _refused(lambda: _confirm(_second(stack), pending.reopen_id, rid))
    assert reason_of(err) == "REOPEN_NOT_REQUESTED"
    assert meta_of(err)["state"] == "CANCELLED"
    _assert_refusal_audited(stack, rid, "REOPEN_NOT_REQUESTED")
    assert _state(stack).state == CLOSED and not stack.writer.kill_switch.is_open()


def test_confirm_when_requested_on_one_replica_and_confirmed_on_another_then_open_on_postgres(
    make_stack: MakeStack,
    pg_url: str,  # noqa: F811 - the fixture imported above
) -> None:
    stack = make_stack(db_url=pg_url, replicas=2)
    first, second = stack.replicas
    _close(first)
    pending = _request(first.operator, _rid()).kill_switch.pending_reopen

    assert _state(stack, second).pending_reopen == pending  # the other replica sees it
    opened = _confirm(_second(stack, second), pending.reopen_id, _rid())

    assert opened.kill_switch.state == OPEN
    assert opened.writer_state == policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_OPEN
    assert stack.writer.kill_switch.is_open()
    assert _state(stack, first).state == OPEN
    assert stack.submit(*stack.approved(first), replica=first).order.broker_order_id > 0
