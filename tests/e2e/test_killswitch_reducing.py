"""The global kill switch in REDUCING over the whole stack: the simulator holding a position,
OpenBao, the real writer (which judges every order), the policy on SQLite, and two replicas on
PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from tests.e2e.test_operator_grpcurl import _readme_lines
from tests.e2e.test_operator_grpcurl import _run as _run_line
from tests.policy.attacker import Attacker
from tests.policy.conftest import pg, pg_url  # noqa: F401 - the PostgreSQL fixtures
from tests.policy.harness import AUDIT_EVERY_REFUSAL, meta_of, new_key, order_msg, reason_of
from tests.support.audit_rows import events_by_request
from tests.support.grpc_clients import channel_as
from tests.support.stack import RESTING_BUY, MakeStack, Replica, Stack, stack_factory
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT
from writer_service.kill_switch import SwitchState

OPEN = common_pb2.KILL_SWITCH_STATE_OPEN
CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
REDUCING = common_pb2.KILL_SWITCH_STATE_REDUCING
SELL, BUY = common_pb2.ACTION_SELL, common_pb2.ACTION_BUY
# Above the simulator's AAPL ask (189.30) and inside the test collar: a sell that rests.
RESTING_SELL = "191.00"
OVERRIDES = {**AUDIT_EVERY_REFUSAL, "audit.verify_interval_s": 3600}


@pytest.fixture
def make_stack(dev_pki: Path, tmp_path: Path, stack_vault: DevVault) -> Iterator[MakeStack]:
    with ExitStack() as cleanup:
        make = stack_factory(cleanup, dev_pki, tmp_path, stack_vault, policy_overrides=OVERRIDES)

        def long_aapl(**kwargs: Any) -> Stack:
            stack = make(**kwargs)
            stack.sim.set_position(ACCOUNT, "AAPL", Decimal(100), Decimal(150))
            return stack

        yield long_aapl


def _rid() -> str:
    return f"rid-{uuid.uuid4().hex[:12]}"


def _set(
    replica: Replica, state: int, reason: str = "INC-7 wind down", rid: str = ""
) -> policy_pb2.SetKillSwitchResponse:
    return replica.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=state, reason=reason),
        metadata=(("x-request-id", rid or _rid()),),
        timeout=30,
    )


def _second(stack: Stack, replica: Replica | None = None) -> policy_pb2_grpc.PolicyServiceStub:
    channel = channel_as(stack.pki, "operator2", (replica or stack.policy).port)
    stack.policy.channels.append(channel)  # closed with the replica
    return policy_pb2_grpc.PolicyServiceStub(channel)


def _confirm(
    stub: policy_pb2_grpc.PolicyServiceStub, reopen_id: str, rid: str = ""
) -> policy_pb2.SetKillSwitchResponse:
    return stub.ConfirmReopen(
        policy_pb2.ConfirmReopenRequest(reopen_id=reopen_id, reason="checked: all clear"),
        metadata=(("x-request-id", rid or _rid()),),
        timeout=30,
    )


def _refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def _approved(stack: Stack, side: int, qty: str, replica: Replica | None = None) -> tuple[str, str]:
    r = replica or stack.policy
    limit = RESTING_SELL if side == SELL else RESTING_BUY
    preview = r.upstream.CreateOrderPreview(
        policy_pb2.CreateOrderPreviewRequest(
            account_id=ACCOUNT, order=order_msg(qty, limit, action=side)
        ),
        timeout=10,
    )
    return preview.preview_id, stack.approve(preview.preview_id, r)


def _submit(
    stack: Stack, side: int, qty: str, key: str = "", replica: Replica | None = None
) -> policy_pb2.SubmitOrderResponse:
    return stack.submit(
        *_approved(stack, side, qty, replica), key=key or new_key(), replica=replica
    )


def _reducing(stack: Stack, replica: Replica | None = None) -> policy_pb2.SetKillSwitchResponse:
    reply = _set(replica or stack.policy, REDUCING)
    assert reply.kill_switch.state == REDUCING
    assert reply.writer_state == policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_REDUCING
    assert reply.writer_synced
    return reply


def _writer_state(stack: Stack) -> SwitchState:
    return stack.writer.kill_switch.state()


def test_set_when_open_to_reducing_then_immediate_audited_and_the_writer_confirms(
    make_stack: MakeStack,
) -> None:
    stack, rid = make_stack(), _rid()
    reply = _set(stack.policy, REDUCING, rid=rid)

    assert reply.kill_switch.state == REDUCING and reply.writer_synced
    assert reply.writer_state == policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_REDUCING
    assert _writer_state(stack) is SwitchState.REDUCING
    shown = stack.policy.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=10)
    assert shown.state == REDUCING and not shown.HasField("pending_reopen")
    [event] = events_by_request(stack.db_url, rid)
    assert (event["method"], event["outcome"], event["kill_switch_state"]) == (
        "SetKillSwitch", "RECORDED", "REDUCING",
    )  # fmt: skip
    assert event["detail"]["writer_state"] == "CONFIRMED_REDUCING"
    status = stack.policy.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    [switch] = [c for c in status.conditions if c.name == "kill_switch"]
    assert not switch.passed and "state=REDUCING" in switch.detail
    assert "reduce-only" in switch.detail and not status.live_enabled


def test_submit_when_reducing_and_sell_reduces_the_long_then_reaches_the_broker(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    _reducing(stack)
    key = new_key()

    placed = _submit(stack, SELL, "40", key)

    assert placed.order.broker_order_id > 0
    [held] = stack.broker_orders_with_ref(key)
    assert (held.action, held.total_quantity) == ("SELL", Decimal(40))


def test_submit_when_reducing_and_buy_then_the_writer_refuses_and_the_key_is_settled(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    _reducing(stack)
    preview_id, approval_id = _approved(stack, BUY, "5")
    key, rid = new_key(), _rid()

    err = _refused(
        lambda: stack.policy.upstream.SubmitOrder(
            policy_pb2.SubmitOrderRequest(
                account_id=ACCOUNT, preview_id=preview_id, approval_id=approval_id,
                idempotency_key=key,
            ),
            metadata=(("x-request-id", rid),),
            timeout=15,
        )
    )  # fmt: skip

    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(err) == "WRITER_KILL_SWITCH_REDUCING_INCREASES"
    meta = meta_of(err)
    assert (meta["position"], meta["quantity"], meta["side"]) == ("100", "5", "BUY")
    assert not stack.broker_orders_with_ref(key)
    events = events_by_request(stack.db_url, rid)
    assert [e["outcome"] for e in events] == ["PENDING", "REFUSED"]
    assert {e["kill_switch_state"] for e in events} == {"REDUCING"}
    assert events[-1]["gate_step"] == 11
    # Settled as a refusal: the same key replays it, and nothing reaches the broker.
    again = _refused(lambda: stack.submit(preview_id, approval_id, key=key))
    assert reason_of(again) == "WRITER_KILL_SWITCH_REDUCING_INCREASES"
    assert not stack.broker_orders_with_ref(key)


def test_submit_when_reducing_and_sell_past_the_position_then_refused_crosses_zero(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    _reducing(stack)
    key = new_key()

    err = _refused(lambda: _submit(stack, SELL, "101", key))

    assert reason_of(err) == "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
    assert (meta_of(err)["position"], meta_of(err)["quantity"]) == ("100", "101")
    assert not stack.broker_orders_with_ref(key)


def test_cancel_and_bracket_when_reducing_then_cancel_passes_and_bracket_refused_at_step_6(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    working = _submit(stack, BUY, "1").order.broker_order_id  # placed while OPEN
    up = stack.policy.upstream
    bracket = up.CreateBracketPreview(
        policy_pb2.CreateBracketPreviewRequest(
            account_id=ACCOUNT, action=BUY, quantity="1",
            instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
            entry_limit_price=RESTING_BUY, take_profit_price="190.00", stop_loss_price="188.00",
            time_in_force=common_pb2.TIME_IN_FORCE_DAY,
        ),
        timeout=10,
    )  # fmt: skip
    _reducing(stack)
    approvals = [stack.approve(p.preview_id) for p in (bracket.parent, bracket.take_profit,
                                                       bracket.stop_loss)]  # fmt: skip
    bracket_key = new_key()

    cancelled = up.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=working, idempotency_key=new_key()
        ),
        timeout=15,
    )
    refused = _refused(lambda: up.SubmitBracket(
        policy_pb2.SubmitBracketRequest(
            account_id=ACCOUNT, parent_preview_id=bracket.parent.preview_id,
            take_profit_preview_id=bracket.take_profit.preview_id,
            stop_loss_preview_id=bracket.stop_loss.preview_id,
            parent_approval_id=approvals[0], take_profit_approval_id=approvals[1],
            stop_loss_approval_id=approvals[2], idempotency_key=bracket_key,
        ),
        timeout=15,
    ))  # fmt: skip

    assert cancelled.order.status in ("Cancelled", "PendingCancel")
    assert reason_of(refused) == "KILL_SWITCH_REDUCING_BRACKET"
    assert not stack.broker_orders_with_ref(bracket_key)
    # At step 6: before step 8 reads the approvals, so unknown ones do not change the answer.
    unread = _refused(lambda: up.SubmitBracket(
        policy_pb2.SubmitBracketRequest(
            account_id=ACCOUNT, parent_preview_id=bracket.parent.preview_id,
            take_profit_preview_id=bracket.take_profit.preview_id,
            stop_loss_preview_id=bracket.stop_loss.preview_id,
            parent_approval_id="no-such-1", take_profit_approval_id="no-such-2",
            stop_loss_approval_id="no-such-3", idempotency_key=new_key(),
        ),
        timeout=15,
    ))  # fmt: skip
    assert reason_of(unread) == "KILL_SWITCH_REDUCING_BRACKET"


def test_submit_when_approved_while_open_and_the_switch_went_reducing_then_revoked(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    preview_id, approval_id = _approved(stack, SELL, "10")  # it would reduce: still refused
    key = new_key()
    _reducing(stack)

    err = _refused(lambda: stack.submit(preview_id, approval_id, key=key))

    assert reason_of(err) == "APPROVAL_REVOKED"
    assert not stack.broker_orders_with_ref(key)
    assert _submit(stack, SELL, "10").order.broker_order_id > 0  # approved afresh: passes


def test_reopen_when_reducing_then_needs_a_second_operator_and_a_verified_audit(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    _reducing(stack)

    asked = _set(stack.policy, OPEN, reason="INC-7 resolved")
    pending = asked.kill_switch.pending_reopen
    assert asked.kill_switch.state == REDUCING and pending.reopen_id
    assert pending.target_state == OPEN
    assert _writer_state(stack) is SwitchState.REDUCING
    shown = stack.policy.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=10)
    assert shown.pending_reopen.target_state == OPEN
    by_self = _refused(lambda: _confirm(stack.policy.operator, pending.reopen_id))
    assert reason_of(by_self) == "REOPEN_SAME_OPERATOR"

    opened = _confirm(_second(stack), pending.reopen_id)

    assert opened.kill_switch.state == OPEN
    assert opened.writer_state == policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_OPEN
    assert _writer_state(stack) is SwitchState.OPEN


def test_reopen_when_reducing_and_the_audit_chain_is_broken_then_refused_and_still_reducing(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    _reducing(stack)
    Attacker(stack.db_url).edit(2, "principal", "mallory")

    err = _refused(lambda: _set(stack.policy, OPEN, reason="INC-7 resolved"))

    assert reason_of(err) == "REOPEN_AUDIT_UNVERIFIED"
    shown = stack.policy.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=10)
    # Still no looser than REDUCING (a verification that finds a break may close it too).
    assert shown.state in (REDUCING, CLOSED) and not shown.HasField("pending_reopen")
    assert _writer_state(stack) is not SwitchState.OPEN


def test_set_when_closed_to_reducing_then_a_guarded_reopen_with_target_reducing(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    _set(stack.policy, CLOSED)

    asked = _set(stack.policy, REDUCING, reason="INC-7 unwind only")
    pending = asked.kill_switch.pending_reopen
    assert asked.kill_switch.state == CLOSED and pending.target_state == REDUCING
    assert _writer_state(stack) is SwitchState.CLOSED

    confirmed = _confirm(_second(stack), pending.reopen_id)

    assert confirmed.kill_switch.state == REDUCING
    assert confirmed.writer_state == policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_REDUCING
    assert _writer_state(stack) is SwitchState.REDUCING
    assert _submit(stack, SELL, "10").order.broker_order_id > 0
    assert reason_of(_refused(lambda: _submit(stack, BUY, "1"))) == (
        "WRITER_KILL_SWITCH_REDUCING_INCREASES"
    )


def test_set_when_reducing_to_closed_then_immediate_close(make_stack: MakeStack) -> None:
    stack = make_stack()
    _reducing(stack)

    closed = _set(stack.policy, CLOSED)

    assert closed.kill_switch.state == CLOSED and closed.writer_synced
    assert _writer_state(stack) is SwitchState.CLOSED
    assert reason_of(_refused(lambda: _submit(stack, SELL, "10"))) == "KILL_SWITCH_CLOSED"


def test_restart_when_writer_restarts_while_reducing_then_closed_until_the_heartbeat_resends_it(
    make_stack: MakeStack,
) -> None:
    """A writer starts CLOSED, whatever it was; the policy's heartbeat resends its stored
    REDUCING, and the writer comes back to REDUCING (not OPEN)."""
    stack = make_stack()
    _reducing(stack)
    port = stack.writer.port
    stack.writer.stop()
    stack.writer_overrides["server.listen"] = f"127.0.0.1:{port}"  # where the policy calls
    writer = stack.start_writer()
    assert writer.kill_switch.state() is SwitchState.CLOSED

    deadline = time.monotonic() + 20
    while writer.kill_switch.state() is not SwitchState.REDUCING:
        assert time.monotonic() < deadline, "the heartbeat did not resend REDUCING"
        time.sleep(0.2)

    assert _submit(stack, SELL, "10").order.broker_order_id > 0
    assert reason_of(_refused(lambda: _submit(stack, BUY, "1"))) == (
        "WRITER_KILL_SWITCH_REDUCING_INCREASES"
    )


def test_submit_when_reducing_on_two_postgres_replicas_and_two_sells_together_cross_then_one_passes(
    make_stack: MakeStack,
    pg_url: str,  # noqa: F811 - the fixture imported above
) -> None:
    stack = make_stack(db_url=pg_url, replicas=2)
    first, second = stack.replicas
    _reducing(stack, first)
    shown = second.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=10)
    assert shown.state == REDUCING
    approved = [_approved(stack, SELL, "60", r) for r in (first, second)]
    keys = [new_key(), new_key()]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def sell(i: int) -> None:
        start.wait()
        try:
            stack.submit(*approved[i], key=keys[i], replica=stack.replicas[i])
            outcomes.append("placed")
        except grpc.RpcError as err:
            outcomes.append(reason_of(err))

    threads = [threading.Thread(target=sell, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(outcomes) == ["WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO", "placed"]
    assert sum(len(stack.broker_orders_with_ref(k)) for k in keys) == 1


def test_readme_reduce_line_when_run_as_operator_then_reducing_and_the_writer_confirms(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    [line] = [
        ln for ln in _readme_lines()
        if "KILL_SWITCH_STATE_REDUCING" in ln and ln.endswith("/SetKillSwitch")
    ]  # fmt: skip

    ran = _run_line(line, "operator", stack)

    assert ran.returncode == 0, ran.stderr
    body = json.loads(ran.stdout)
    assert body["kill_switch"]["state"] == "KILL_SWITCH_STATE_REDUCING"
    assert body["writer_state"] == "WRITER_SWITCH_STATE_CONFIRMED_REDUCING"
    assert _writer_state(stack) is SwitchState.REDUCING


def test_cli_reduce_when_run_then_reducing_and_exit_zero_only_when_the_writer_confirms(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    command = [
        str(Path(sys.executable).parent / "livegate"), "killswitch", "reduce",
        "--reason", "INC-7 unwind only",
        "--target", f"localhost:{stack.policy.port}", "--pki", str(stack.pki),
    ]  # fmt: skip

    ran = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert ran.returncode == 0, ran.stderr
    body = json.loads(ran.stdout)
    assert body["kill_switch"]["state"] == "KILL_SWITCH_STATE_REDUCING"
    assert body["writer_state"] == "WRITER_SWITCH_STATE_CONFIRMED_REDUCING"
    assert _writer_state(stack) is SwitchState.REDUCING


def test_modify_when_reducing_then_passes_only_while_it_still_reduces(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    working = _submit(stack, SELL, "40").order.broker_order_id  # placed while OPEN
    _reducing(stack)
    up = stack.policy.upstream

    def modify(qty: str) -> policy_pb2.ModifyOrderResponse:
        changes = common_pb2.OrderChanges(quantity=qty)
        preview = up.CreateModifyPreview(
            policy_pb2.CreateModifyPreviewRequest(
                account_id=ACCOUNT, broker_order_id=working, changes=changes
            ),
            timeout=10,
        )
        return up.ModifyOrder(
            policy_pb2.ModifyOrderRequest(
                account_id=ACCOUNT, broker_order_id=working, changes=changes,
                preview_id=preview.preview_id, approval_id=stack.approve(preview.preview_id),
                idempotency_key=new_key(),
            ),
            timeout=15,
        )  # fmt: skip

    err = _refused(lambda: modify("120"))
    assert reason_of(err) == "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
    assert (meta_of(err)["quantity"], meta_of(err)["working_same_side"]) == ("120", "0")
    assert Decimal(modify("90").order.order.quantity) == 90
    [held] = [o for o in stack.sim.orders() if o.order_id == working]
    assert held.total_quantity == Decimal(90)
