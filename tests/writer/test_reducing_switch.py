"""The writer's kill switch in REDUCING, against a real writer over mTLS and the simulator.

Every call here carries the policy service's certificate, straight to the writer: the writer
is the enforcement point of the global REDUCING, whatever reaches it.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import grpc
import pytest

from gateway_sim import GatewaySimulator
from livegate_api.v1 import common_pb2, writer_pb2
from livegate_common.errors import error_info
from tests.support.net import wait_until
from tests.support.writers import ACCOUNT, make_config, writer_document
from tests.writer.conftest import RunningWriter, stub
from tests.writer.test_orders import limit_order, stop_order
from tests.writer.test_start import place_foreign_order
from writer_service.app import start_writer
from writer_service.config import Role

SELL, BUY = common_pb2.ACTION_SELL, common_pb2.ACTION_BUY
# Far from the simulator's quotes: the orders rest, so they stay working.
REST_SELL, REST_BUY = "990.00", "10.00"


def set_switch(rw: RunningWriter, state: int, version: int, resend: bool = False) -> int:
    answer = rw.policy.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=state, reason="incident", version=version, resend=resend
        ),
        timeout=5,
    )
    return int(answer.kill_switch.state)


def reducing(rw: RunningWriter, long: int = 100) -> None:
    rw.sim.set_position(ACCOUNT, "AAPL", Decimal(long), Decimal(150))
    assert set_switch(rw, common_pb2.KILL_SWITCH_STATE_REDUCING, 2) == (
        common_pb2.KILL_SWITCH_STATE_REDUCING
    )


def submit(rw: RunningWriter, key: str, side: int, qty: str) -> writer_pb2.WriterOrderResult:
    price = REST_SELL if side == SELL else REST_BUY
    return rw.policy.SubmitOrder(
        writer_pb2.WriterSubmitOrderRequest(
            request_id=key, account_id=ACCOUNT, order=limit_order(qty, price, side),
            idempotency_key=key,
        ),
        timeout=10,
    )  # fmt: skip


def refused(call: pytest.ExceptionInfo[grpc.RpcError]) -> tuple[str, dict[str, str]]:
    assert call.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(call.value)
    assert info is not None
    return info.reason, dict(info.metadata)


def at_broker(rw: RunningWriter, key: str) -> bool:
    return any(o.order_ref == key for o in rw.sim.orders())


def test_submit_when_reducing_and_sell_reduces_the_long_then_reaches_the_broker(
    running: RunningWriter,
) -> None:
    reducing(running)
    result = submit(running, "red-sell", SELL, "40")
    assert result.order.order_ref == "red-sell" and at_broker(running, "red-sell")


def test_submit_when_reducing_and_buy_from_policy_cert_adds_to_the_long_then_refused(
    running: RunningWriter,
) -> None:
    reducing(running)
    with pytest.raises(grpc.RpcError) as call:
        submit(running, "red-buy", BUY, "10")
    reason, meta = refused(call)
    assert reason == "WRITER_KILL_SWITCH_REDUCING_INCREASES"
    assert (meta["position"], meta["quantity"], meta["side"]) == ("100", "10", "BUY")
    assert not at_broker(running, "red-buy")


def test_submit_when_reducing_and_sell_past_the_position_then_refused_crosses_zero(
    running: RunningWriter,
) -> None:
    reducing(running)
    with pytest.raises(grpc.RpcError) as call:
        submit(running, "red-flip", SELL, "101")
    reason, meta = refused(call)
    assert reason == "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
    assert (meta["position"], meta["quantity"]) == ("100", "101")
    assert not at_broker(running, "red-flip")


def test_submit_when_reducing_and_two_concurrent_sells_together_cross_then_exactly_one_passes(
    running: RunningWriter,
) -> None:
    reducing(running)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def sell(key: str) -> None:
        start.wait()
        try:
            submit(running, key, SELL, "60")
            outcomes[key] = "placed"
        except grpc.RpcError as exc:
            info = error_info(exc)
            outcomes[key] = info.reason if info else repr(exc)

    threads = [threading.Thread(target=sell, args=(k,)) for k in ("red-a", "red-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes.values()) == ["WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO", "placed"]
    assert [at_broker(running, k) for k in ("red-a", "red-b")].count(True) == 1


def sell_by_hand(sim: GatewaySimulator, qty: str, price: str = REST_SELL) -> None:
    """A resting sell with no orderRef from another client id (99), as TWS by hand leaves one."""
    place_foreign_order(sim.port, limit_order(qty, price, SELL))
    assert wait_until(lambda: any(o.client_id == 99 and o.is_working for o in sim.orders()))


def test_submit_when_reducing_and_a_hand_placed_sell_works_then_it_counts_as_filled(
    running: RunningWriter,
) -> None:
    """Long 100 with a sell of 60 placed by hand in TWS: livegate's sell of 60 would flip the
    position if both fill, so it is refused; a sell of 40 still fits."""
    reducing(running)
    sell_by_hand(running.sim, "60")
    with pytest.raises(grpc.RpcError) as call:
        submit(running, "red-hand-60", SELL, "60")
    reason, meta = refused(call)
    assert reason == "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
    assert (meta["position"], meta["quantity"], meta["working_same_side"]) == ("100", "60", "60")
    assert not at_broker(running, "red-hand-60")
    assert submit(running, "red-hand-40", SELL, "40").order.order_ref == "red-hand-40"


def test_cancel_when_reducing_then_passes(running: RunningWriter) -> None:
    running.sim.set_position(ACCOUNT, "AAPL", Decimal(100), Decimal(150))
    placed = submit(running, "red-cancel", BUY, "5")  # an increasing order, placed while OPEN
    reducing(running)
    result = running.policy.CancelOrder(
        writer_pb2.WriterCancelOrderRequest(
            account_id=ACCOUNT,
            broker_order_id=placed.order.broker_order_id,
            idempotency_key="red-cancel-1",
        ),
        timeout=10,
    )
    assert result.order.status in ("Cancelled", "ApiCancelled")


def test_submit_bracket_when_reducing_then_refused_and_nothing_sent(running: RunningWriter) -> None:
    reducing(running)
    with pytest.raises(grpc.RpcError) as call:
        running.policy.SubmitBracket(
            writer_pb2.WriterSubmitBracketRequest(
                account_id=ACCOUNT,
                parent=limit_order("5", "150.00"),
                take_profit=limit_order("5", "160.00", SELL),
                stop_loss=stop_order("5", "140.00"),
                idempotency_key="red-br",
            ),
            timeout=10,
        )
    assert refused(call)[0] == "WRITER_KILL_SWITCH_REDUCING_BRACKET"
    assert not running.sim.orders()


def test_modify_when_reducing_then_judged_without_its_own_working_quantity(
    running: RunningWriter,
) -> None:
    running.sim.set_position(ACCOUNT, "AAPL", Decimal(100), Decimal(150))
    placed = submit(running, "red-mod", SELL, "40")
    reducing(running)

    def modify(qty: str, key: str) -> writer_pb2.WriterOrderResult:
        return running.policy.ModifyOrder(
            writer_pb2.WriterModifyOrderRequest(
                account_id=ACCOUNT,
                broker_order_id=placed.order.broker_order_id,
                changes=common_pb2.OrderChanges(quantity=qty),
                idempotency_key=key,
            ),
            timeout=10,
        )

    assert Decimal(modify("90", "red-mod-1").order.order.quantity) == 90
    with pytest.raises(grpc.RpcError) as call:
        modify("120", "red-mod-2")
    reason, meta = refused(call)
    assert reason == "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
    assert (meta["quantity"], meta["working_same_side"]) == ("120", "0")
    held = next(o for o in running.sim.orders() if o.order_ref == "red-mod")
    assert held.total_quantity == Decimal(90)


def test_restart_when_reducing_then_closed_until_the_policy_resends_reducing(
    running: RunningWriter,
) -> None:
    """A writer starts CLOSED whatever it was; the policy's heartbeat (a resend of its stored
    REDUCING) brings it back to REDUCING, not to OPEN."""
    reducing(running)
    running.handle.stop()
    running.doc = writer_document(
        running.pki, running.vault, Role.W, running.workdir, gateway_port=running.sim.port
    )
    running.handle = start_writer(make_config(running.doc, running.workdir))
    running.policy = stub(running.pki, "policy", running.handle.port)
    state = running.policy.GetKillSwitch(writer_pb2.WriterGetKillSwitchRequest(), timeout=5)
    assert state.state == common_pb2.KILL_SWITCH_STATE_CLOSED
    with pytest.raises(grpc.RpcError) as call:
        submit(running, "red-after-restart", SELL, "10")
    assert refused(call)[0] == "WRITER_KILL_SWITCH_CLOSED"
    assert set_switch(running, common_pb2.KILL_SWITCH_STATE_REDUCING, 2, resend=True) == (
        common_pb2.KILL_SWITCH_STATE_REDUCING
    )
    with pytest.raises(grpc.RpcError) as call:
        submit(running, "red-buy-after-restart", BUY, "10")
    assert refused(call)[0] == "WRITER_KILL_SWITCH_REDUCING_INCREASES"
    assert submit(running, "red-after-resend", SELL, "10").order.order_ref == "red-after-resend"


def test_submit_when_reducing_and_the_broker_does_not_answer_positions_then_refused_unjudged(
    running: RunningWriter,
) -> None:
    """Positions not known: fail closed, nothing sent."""
    reducing(running)
    running.sim.set_delay(7)  # past the writer's 5 s broker timeout
    try:
        with pytest.raises(grpc.RpcError) as call:
            submit(running, "red-unjudged", SELL, "10")
    finally:
        running.sim.set_delay(0)
    reason, meta = refused(call)
    assert reason == "WRITER_KILL_SWITCH_REDUCING_UNJUDGED"
    assert "positions" in (call.value.details() or "") and meta["quantity"] == "10"
    assert not at_broker(running, "red-unjudged")
