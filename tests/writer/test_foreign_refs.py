"""A request whose key names another order at the broker touches nothing there.

CI caught this through the fuzzer: a bracket key re-sent with a different entry found the
first bracket's entry filled and its exits working, judged the bracket PARTIAL, and cancelled
those exits: the protection of a live position, on a request that placed nothing.
"""

from __future__ import annotations

import grpc
import pytest

from gateway_sim.models import SimOrder
from livegate_api.v1 import common_pb2, writer_pb2
from tests.support.net import wait_until
from tests.support.writers import ACCOUNT
from tests.writer.conftest import RunningWriter
from tests.writer.test_orders import limit_order, refusal, stop_order, submit

KEY = "key-bracket-reused"
# Marketable against the simulator's AAPL quote (about 189): the entry fills on arrival.
FILLING_ENTRY = "200.00"
CANCELS = frozenset({4, 58})  # cancelOrder, reqGlobalCancel


def _bracket(
    running: RunningWriter, entry: common_pb2.Order, key: str = KEY
) -> writer_pb2.WriterBracketResult:
    return running.policy.SubmitBracket(
        writer_pb2.WriterSubmitBracketRequest(
            request_id="r1",
            account_id=ACCOUNT,
            parent=entry,
            take_profit=limit_order("5", "250.00", common_pb2.ACTION_SELL),
            stop_loss=stop_order("5", "150.00"),
            idempotency_key=key,
        ),
        timeout=10,
    )


def _legs(running: RunningWriter, key: str = KEY) -> dict[str, SimOrder]:
    return {o.order_ref: o for o in running.sim.orders() if o.order_ref.split("~")[0] == key}


def _cancels_since(running: RunningWriter, seen: int) -> list[str]:
    """What reached the broker after SEEN that cancels anything: cancelOrder or a global one."""
    return [m.name for m in running.sim.received()[seen:] if m.msg_id in CANCELS]


def _exits_protecting_a_filled_entry(running: RunningWriter) -> dict[str, SimOrder]:
    _bracket(running, limit_order("5", FILLING_ENTRY))
    assert wait_until(lambda: _legs(running)[KEY].status == "Filled", timeout_s=10)
    legs = _legs(running)
    assert {legs[f"{KEY}~tp"].status, legs[f"{KEY}~sl"].status} <= {"Submitted", "PreSubmitted"}
    return legs


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(limit_order("5", "201.00"), id="other-entry-price"),
        pytest.param(limit_order("4", FILLING_ENTRY), id="other-entry-size"),
    ],
)
def test_bracket_when_key_names_another_filled_entry_then_refused_and_its_exits_stay(
    running: RunningWriter, entry: common_pb2.Order
) -> None:
    before = _exits_protecting_a_filled_entry(running)
    seen = len(running.sim.received())
    with pytest.raises(grpc.RpcError) as refused:
        _bracket(running, entry)
    code, reason, _ = refusal(refused)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ORDER_REF_MISMATCH")
    assert _cancels_since(running, seen) == []
    after = _legs(running)
    for ref in (f"{KEY}~tp", f"{KEY}~sl"):
        assert after[ref].status == before[ref].status, ref
    assert len(after) == 3


def test_bracket_when_key_names_another_take_profit_then_refused_and_nothing_cancelled(
    running: RunningWriter,
) -> None:
    """The entry matches, one exit does not: the bracket at the broker is another request's."""
    _bracket(running, limit_order("5", "150.00"))
    seen = len(running.sim.received())
    with pytest.raises(grpc.RpcError) as refused:
        running.policy.SubmitBracket(
            writer_pb2.WriterSubmitBracketRequest(
                request_id="r2",
                account_id=ACCOUNT,
                parent=limit_order("5", "150.00"),
                take_profit=limit_order("5", "251.00", common_pb2.ACTION_SELL),
                stop_loss=stop_order("5", "150.00"),
                idempotency_key=KEY,
            ),
            timeout=10,
        )
    assert refusal(refused)[1] == "ORDER_REF_MISMATCH"
    assert _cancels_since(running, seen) == []
    assert all(o.status in ("Submitted", "PreSubmitted") for o in _legs(running).values())


def test_submit_when_key_names_a_filled_order_at_another_price_then_refused_not_answered(
    running: RunningWriter,
) -> None:
    """Executions carry no limit price: the old order's fill must not pass for the new one."""
    submit(running, "key-order-reused", limit_order("5", FILLING_ENTRY))
    assert wait_until(
        lambda: _legs(running, "key-order-reused")["key-order-reused"].status == "Filled",
        timeout_s=10,
    )
    writes = len(running.sim.received_writes())
    with pytest.raises(grpc.RpcError) as refused:
        submit(running, "key-order-reused", limit_order("5", "201.00"))
    assert refusal(refused)[1] == "ORDER_REF_MISMATCH"
    assert len(running.sim.received_writes()) == writes
