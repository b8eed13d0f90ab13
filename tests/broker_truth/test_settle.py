"""Answers lost on the way back, settled by a retry of the same key: one key, one order.

The simulator drops the broker's acknowledgement and the read-back's open-orders answer, so
the writer cannot know; the policy keeps the key pending and the approval reserved, and the
retry of the same key asks the writer to read the broker back by orderRef before anything.
"""

from __future__ import annotations

import grpc
import pytest

from gateway_sim import Msg, OrderScript
from livegate_api.v1 import common_pb2, policy_pb2
from tests.broker_truth.flows import Desk, answer_of
from tests.policy.harness import new_key
from tests.support.writers import ACCOUNT

pytestmark = pytest.mark.timeout(60)


def test_submit_when_ack_and_read_back_lost_then_pending_reserved_and_retry_settles_one_order(
    desk: Desk,
) -> None:
    preview_id, approval_id = desk.approved()
    key = new_key()
    desk.sim.drop("place_ack")
    desk.sim.drop("open_orders")

    lost = desk.submit(preview_id, approval_id, key)

    assert (lost.code, lost.reason) == (grpc.StatusCode.UNAVAILABLE, "WRITER_OUTCOME_UNKNOWN")
    assert lost.metadata["writer_reason"] == "BROKER_OUTCOME_UNKNOWN"
    assert lost.metadata["unanswered"] == "open_orders"
    assert (desk.key_state(key), desk.approval_state(approval_id)) == ("UNKNOWN", "reserved")
    assert len(desk.working(key)) == 1
    other = new_key()
    assert desk.submit(preview_id, approval_id, other).reason == "APPROVAL_CONSUMED"
    assert desk.broker_orders(other) == []

    settled = desk.submit(preview_id, approval_id, key)

    assert settled.ok and settled.response.replayed, settled
    [order] = desk.broker_orders(key)
    assert settled.response.order.broker_order_id == order.order_id
    assert (desk.key_state(key), desk.approval_state(approval_id)) == ("SUCCEEDED", "consumed")


def test_submit_when_rejected_order_outcome_lost_then_settle_places_it_once(desk: Desk) -> None:
    """The broker kept nothing, but the writer could not prove it: the settle can, and places."""
    preview_id, approval_id = desk.approved()
    key = new_key()
    desk.sim.script_orders(OrderScript(before_ack=(Msg(201),), outcome="reject"), order_ref=key)
    desk.sim.drop("open_orders")

    lost = desk.submit(preview_id, approval_id, key)

    assert lost.reason == "WRITER_OUTCOME_UNKNOWN", lost
    assert lost.message_codes() == [201]
    assert desk.approval_state(approval_id) == "reserved"
    settled = desk.submit(preview_id, approval_id, key)
    assert settled.ok, settled
    assert [o.status for o in desk.broker_orders(key)] == ["Submitted"]
    assert desk.approval_state(approval_id) == "consumed"


def test_submit_when_settle_cannot_read_the_broker_then_still_pending_and_nothing_sent(
    desk: Desk,
) -> None:
    preview_id, approval_id = desk.approved()
    key = new_key()
    desk.sim.drop("place_ack")
    desk.sim.drop("open_orders", count=2)
    assert desk.submit(preview_id, approval_id, key).reason == "WRITER_OUTCOME_UNKNOWN"
    writes = len(desk.sim.received_writes())

    again = desk.submit(preview_id, approval_id, key)

    assert again.reason == "WRITER_OUTCOME_UNKNOWN", again
    assert again.metadata["writer_reason"] == "BROKER_OUTCOME_UNKNOWN"
    assert len(desk.sim.received_writes()) == writes
    assert (desk.key_state(key), desk.approval_state(approval_id)) == ("UNKNOWN", "reserved")
    assert len(desk.broker_orders(key)) == 1


def test_bracket_when_a_leg_answer_and_read_back_lost_then_retry_settles_the_three_legs(
    desk: Desk,
) -> None:
    previews, approvals = desk.bracket_approved()
    key = new_key()
    # The take-profit rests without a word; the open-orders answer of the read-back is lost.
    desk.sim.script_orders(OrderScript(outcome="silent"), order_ref=f"{key}~tp")
    desk.sim.drop("open_orders")

    lost = desk.bracket(previews, approvals, key)

    assert lost.reason == "WRITER_OUTCOME_UNKNOWN", lost
    assert {desk.approval_state(a) for a in approvals} == {"reserved"}
    settled = desk.bracket(previews, approvals, key)
    assert settled.ok and settled.response.replayed, settled
    legs = [settled.response.parent, settled.response.take_profit, settled.response.stop_loss]
    assert [leg.order_ref for leg in legs] == [key, f"{key}~tp", f"{key}~sl"]
    assert len([o for o in desk.sim.orders() if o.order_ref.split("~")[0] == key]) == 3
    assert {desk.approval_state(a) for a in approvals} == {"consumed"}


def test_bracket_when_take_profit_rejected_then_partial_cancelled_and_approvals_spent(
    desk: Desk,
) -> None:
    previews, approvals = desk.bracket_approved()
    key = new_key()
    desk.sim.script_orders(
        OrderScript(before_ack=(Msg(201),), outcome="reject"), order_ref=f"{key}~tp"
    )

    answer = desk.bracket(previews, approvals, key)

    assert (answer.code, answer.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BRACKET_PARTIALLY_PLACED",
    ), answer
    meta = answer.metadata
    assert (meta["parent_found"], meta["take_profit_found"], meta["stop_loss_found"]) == (
        "ALIVE",
        "ABSENT",
        "ALIVE",
    )
    legs = [o for o in desk.sim.orders() if o.order_ref.split("~")[0] == key]
    assert sorted(o.status for o in legs) == ["Cancelled", "Cancelled"]
    assert desk.key_state(key) == "PARTIAL"
    assert {desk.approval_state(a) for a in approvals} == {"consumed"}
    assert desk.bracket(previews, approvals, key).reason == "BRACKET_PARTIALLY_PLACED"
    assert desk.bracket(previews, approvals, new_key()).reason == "APPROVAL_CONSUMED"


def test_preview_when_quote_times_out_then_writer_reason_passes_through(desk: Desk) -> None:
    desk.sim.delay("quote", 2)
    answer = answer_of(
        lambda: desk.stack.policy.upstream.CreateOrderPreview(
            policy_pb2.CreateOrderPreviewRequest(
                account_id=ACCOUNT,
                order=common_pb2.Order(
                    instrument=common_pb2.Instrument(
                        symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK
                    ),
                    action=common_pb2.ACTION_BUY,
                    quantity="1",
                    order_type=common_pb2.ORDER_TYPE_LIMIT,
                    limit_price="189.00",
                    time_in_force=common_pb2.TIME_IN_FORCE_DAY,
                ),
            ),
            timeout=10,
        )
    )
    assert (answer.code, answer.reason) == (grpc.StatusCode.UNAVAILABLE, "WRITER_UNAVAILABLE")
    assert answer.metadata["writer_reason"] == "BROKER_TIMEOUT"
