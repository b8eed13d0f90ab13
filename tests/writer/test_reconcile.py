"""Idempotency across crashes and reconnects, unexplained orders, and the writer's kill switch."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import pytest

from livegate_api.v1 import common_pb2, writer_pb2
from tests.support.net import wait_until
from tests.support.sim import running_sim
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT, make_config, writer_document
from tests.writer.conftest import RunningWriter, open_switch, stub
from tests.writer.test_orders import limit_order, refusal, stop_order, submit
from writer_service.app import start_writer
from writer_service.config import Role
from writer_service.ib_convert import contract_for, ib_order_for
from writer_service.ib_session import IbSession
from writer_service.wire import order as order_from_wire


def test_submit_when_ack_lost_and_writer_restarted_then_retry_yields_one_broker_order(
    running: RunningWriter,
) -> None:
    # The broker acknowledges slowly; the caller gives up before the writer answers.
    running.sim.set_delay(1.0)
    with pytest.raises(grpc.RpcError) as call:
        running.policy.SubmitOrder(
            writer_pb2.WriterSubmitOrderRequest(
                account_id=ACCOUNT, order=limit_order(), idempotency_key="key-crash"
            ),
            timeout=0.5,
        )
    assert call.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert wait_until(
        lambda: any(o.order_ref == "key-crash" for o in running.sim.orders()), timeout_s=10
    )
    running.sim.set_delay(0)
    running.restart()
    retried = submit(running, "key-crash")
    assert retried.reconciled
    held = [o for o in running.sim.orders() if o.order_ref == "key-crash"]
    assert len(held) == 1
    assert retried.order.broker_order_id == held[0].order_id


def test_submit_when_gateway_rolls_back_ids_after_reconnect_then_no_id_is_reused(
    running: RunningWriter,
) -> None:
    first = submit(running, "key-before-drop")
    running.sim.roll_back_next_valid_id_on_reconnect(5)
    running.sim.drop_connections()
    assert wait_until(lambda: len(running.sim.connected_client_ids()) == 0, timeout_s=5)
    assert wait_until(lambda: running.handle.session.is_connected(), timeout_s=10)
    assert wait_until(
        lambda: _try_submit(running, "key-after-drop") is not None, timeout_s=10, interval_s=0.3
    )
    second = submit(running, "key-after-drop")
    assert second.reconciled  # the first successful attempt placed it; this one finds it
    assert second.order.broker_order_id > first.order.broker_order_id
    before = next(o for o in running.sim.orders() if o.order_ref == "key-before-drop")
    assert before.total_quantity == 10 and before.status != "Cancelled"
    again = submit(running, "key-before-drop")
    assert again.reconciled and again.order.broker_order_id == first.order.broker_order_id


def _try_submit(running: RunningWriter, key: str) -> writer_pb2.WriterOrderResult | None:
    try:
        return submit(running, key)
    except grpc.RpcError:
        return None


def test_start_when_broker_holds_order_without_ref_then_listed_as_unexplained(
    running: RunningWriter,
) -> None:
    # Another program (client id 99) places an order with no orderRef behind livegate's back.
    other = IbSession(5)
    try:
        other.connect("127.0.0.1", running.sim.port, 99, 5)
        spec = order_from_wire(limit_order("3", "120.00"))

        async def place_foreign() -> None:
            order_id = await other.next_order_id()
            await other.place(
                contract_for(spec.instrument), ib_order_for(spec, ACCOUNT, "", order_id)
            )

        other.call(place_foreign())
        assert wait_until(lambda: any(o.client_id == 99 for o in running.sim.orders()))
    finally:
        other.stop()
    running.restart()
    permission = running.policy.GetPermission(writer_pb2.GetPermissionRequest(), timeout=5)
    assert [o.order_ref for o in permission.unexplained_orders] == [""]
    assert permission.unexplained_orders[0].order.limit_price == "120"


def _close(running: RunningWriter, version: int) -> None:
    running.policy.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="operator", version=version
        ),
        timeout=5,
    )


def test_writes_when_kill_switch_closed_then_refused_and_nothing_reaches_the_simulator(
    running: RunningWriter,
) -> None:
    placed = submit(running, "key-ks")
    _close(running, version=2)
    before = len(running.sim.received_writes())
    calls = [
        lambda: submit(running, "key-ks-2"),
        lambda: running.policy.CancelOrder(
            writer_pb2.WriterCancelOrderRequest(
                account_id=ACCOUNT,
                broker_order_id=placed.order.broker_order_id,
                idempotency_key="c",
            ),
            timeout=5,
        ),
        lambda: running.policy.ModifyOrder(
            writer_pb2.WriterModifyOrderRequest(
                account_id=ACCOUNT,
                broker_order_id=placed.order.broker_order_id,
                changes=common_pb2.OrderChanges(quantity="1"),
                idempotency_key="m",
            ),
            timeout=5,
        ),
        lambda: running.policy.SubmitBracket(
            writer_pb2.WriterSubmitBracketRequest(
                account_id=ACCOUNT,
                parent=limit_order("5", "150.00"),
                take_profit=limit_order("5", "160.00", common_pb2.ACTION_SELL),
                stop_loss=stop_order("5", "140.00"),
                idempotency_key="key-ks-br",
            ),
            timeout=5,
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as refused:
            call()
        code, reason, metadata = refusal(refused)
        assert (code, reason, metadata["version"]) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "WRITER_KILL_SWITCH_CLOSED",
            "2",
        )
    assert len(running.sim.received_writes()) == before


def test_settle_when_switch_closed_and_order_at_broker_then_answers_it_and_sends_nothing(
    running: RunningWriter,
) -> None:
    """A settle reads the broker back; finding the order, it sends nothing, so a closed switch
    does not refuse it: a refusal would tell the policy nothing is there, and free the approval."""
    placed = submit(running, "key-settle-closed")
    _close(running, version=2)
    before = len(running.sim.received_writes())

    def settle(key: str) -> writer_pb2.WriterOrderResult:
        return running.policy.SubmitOrder(  # type: ignore[no-any-return]
            writer_pb2.WriterSubmitOrderRequest(
                request_id="r-settle", account_id=ACCOUNT, order=limit_order(),
                idempotency_key=key, settle=True,
            ),
            timeout=15,
        )  # fmt: skip

    found = settle("key-settle-closed")
    assert found.reconciled and found.order.broker_order_id == placed.order.broker_order_id
    with pytest.raises(grpc.RpcError) as absent:
        settle("key-settle-absent")
    assert refusal(absent)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "WRITER_KILL_SWITCH_CLOSED",
    )
    assert len(running.sim.received_writes()) == before


def _sync(
    running: RunningWriter, state: common_pb2.KillSwitchState, version: int, resend: bool = False
) -> common_pb2.KillSwitch:
    answer = running.policy.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=state, reason="sync", version=version, resend=resend
        ),
        timeout=5,
    )
    return answer.kill_switch


def test_set_kill_switch_when_closed_with_a_lower_version_then_closed(
    running: RunningWriter,
) -> None:
    """A restored policy database, or a replica on another one, closes with a lower version."""
    opened = _sync(running, common_pb2.KILL_SWITCH_STATE_OPEN, 5)
    assert (opened.state, opened.version) == (common_pb2.KILL_SWITCH_STATE_OPEN, 5)
    closed = _sync(running, common_pb2.KILL_SWITCH_STATE_CLOSED, 4)
    assert (closed.state, closed.version) == (common_pb2.KILL_SWITCH_STATE_CLOSED, 4)
    assert not running.handle.kill_switch.is_open()
    # The other replica's heartbeat still says OPEN 5: not newer than what the writer had seen
    # when it closed, so it does not reopen it.
    assert _sync(running, common_pb2.KILL_SWITCH_STATE_OPEN, 5).state == (
        common_pb2.KILL_SWITCH_STATE_CLOSED
    )
    reopened = _sync(running, common_pb2.KILL_SWITCH_STATE_OPEN, 6)
    assert (reopened.state, reopened.version) == (common_pb2.KILL_SWITCH_STATE_OPEN, 6)


def test_set_kill_switch_when_a_resent_close_is_older_than_the_open_then_ignored(
    running: RunningWriter,
) -> None:
    """A replica's heartbeat read its CLOSED before another replica's OPEN reached the writer."""
    _sync(running, common_pb2.KILL_SWITCH_STATE_OPEN, 7)
    stale = _sync(running, common_pb2.KILL_SWITCH_STATE_CLOSED, 6, resend=True)
    assert (stale.state, stale.version) == (common_pb2.KILL_SWITCH_STATE_OPEN, 7)
    assert running.handle.kill_switch.is_open()
    current = _sync(running, common_pb2.KILL_SWITCH_STATE_CLOSED, 8, resend=True)
    assert (current.state, current.version) == (common_pb2.KILL_SWITCH_STATE_CLOSED, 8)


def test_set_kill_switch_when_open_is_stale_then_ignored(running: RunningWriter) -> None:
    _sync(running, common_pb2.KILL_SWITCH_STATE_OPEN, 5)
    _sync(running, common_pb2.KILL_SWITCH_STATE_CLOSED, 6)
    late = _sync(running, common_pb2.KILL_SWITCH_STATE_OPEN, 5)  # a slow replica's OPEN
    assert (late.state, late.version) == (common_pb2.KILL_SWITCH_STATE_CLOSED, 6)
    assert _sync(running, common_pb2.KILL_SWITCH_STATE_OPEN, 8).state == (
        common_pb2.KILL_SWITCH_STATE_OPEN
    )
    older = _sync(running, common_pb2.KILL_SWITCH_STATE_OPEN, 7)
    current = running.policy.GetKillSwitch(writer_pb2.WriterGetKillSwitchRequest(), timeout=5)
    assert (older.version, current.state, current.version, current.changed_by) == (
        8,
        common_pb2.KILL_SWITCH_STATE_OPEN,
        8,
        "policy",
    )


def test_kill_switch_when_policy_goes_silent_then_writer_closes_it_and_says_why(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with running_sim() as sim:
        doc = writer_document(
            dev_pki, vault, Role.W, tmp_path, gateway_port=sim.port, peer_timeout_s=0.5
        )
        handle = start_writer(make_config(doc, tmp_path))
        try:
            policy = stub(dev_pki, "policy", handle.port)
            open_switch(policy)
            assert handle.kill_switch.is_open()
            assert wait_until(lambda: not handle.kill_switch.is_open(), timeout_s=5)
            state = policy.GetKillSwitch(writer_pb2.WriterGetKillSwitchRequest(), timeout=5)
        finally:
            handle.stop()
    assert state.state == common_pb2.KILL_SWITCH_STATE_CLOSED
    assert "no kill-switch sync from the policy service" in state.reason
    assert state.changed_by == "system"


def test_close_when_submits_race_it_then_nothing_reaches_broker_after_close_returns(
    running: RunningWriter,
) -> None:
    stop = threading.Event()
    outcomes: list[str] = []

    def hammer(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                submit(running, f"key-race-{worker}-{n}")
                outcomes.append("placed")
            except grpc.RpcError as exc:
                outcomes.append(exc.code().name)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: outcomes.count("placed") >= 3, timeout_s=10)
    _close(running, version=2)
    closed_at = time.monotonic_ns()
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    places = [w for w in running.sim.received_writes() if w.name == "PLACE_ORDER"]
    assert places and all(w.monotonic_ns < closed_at for w in places)
    assert "FAILED_PRECONDITION" in outcomes


def test_get_order_when_reconciling_after_a_drop_then_unavailable_until_reconciled(
    running: RunningWriter,
) -> None:
    """Invariant 3: the lookup that settles a lost outcome never answers from a stale view."""
    placed = submit(running, "key-looked-up")
    request = writer_pb2.GetOrderRequest(account_id=ACCOUNT, order_ref="key-looked-up")
    running.sim.set_delay(1.5)  # holds the reconnect's reconciliation queries open
    running.sim.drop_connections()
    assert wait_until(lambda: not running.handle.session.is_connected(), timeout_s=5)
    with pytest.raises(grpc.RpcError) as err:
        running.policy.GetOrder(request, timeout=5)
    assert refusal(err)[:2] == (grpc.StatusCode.UNAVAILABLE, "BROKER_UNAVAILABLE")
    running.sim.set_delay(0)
    assert wait_until(lambda: running.handle.session.is_connected(), timeout_s=20)
    found = running.policy.GetOrder(request, timeout=5)
    assert found.order.broker_order_id == placed.order.broker_order_id


def test_session_when_dropped_again_while_reconciling_then_it_reconnects(
    running: RunningWriter,
) -> None:
    """A drop during the reconnect's reconciliation used to leave the writer down for good."""
    submit(running, "key-before-drops")
    queries = {"REQ_ALL_OPEN_ORDERS", "REQ_COMPLETED_ORDERS", "REQ_EXECUTIONS"}

    def reconciling_queries() -> int:
        return sum(1 for m in running.sim.received() if m.name in queries)

    before = reconciling_queries()
    running.sim.set_delay(1.5)  # holds the reconnect's reconciliation answers back
    running.sim.drop_connections()
    assert wait_until(lambda: not running.handle.session.is_connected(), timeout_s=5)
    # Reconnected and reconciling: its first query has reached the simulator, unanswered.
    assert wait_until(lambda: reconciling_queries() > before, timeout_s=15)
    running.sim.drop_connections()
    running.sim.set_delay(0)
    assert wait_until(lambda: running.handle.session.is_connected(), timeout_s=20)
    after = submit(running, "key-after-drops")
    held = [o for o in running.sim.orders() if o.order_ref == "key-after-drops"]
    assert [o.order_id for o in held] == [after.order.broker_order_id]
