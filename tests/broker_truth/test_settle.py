"""Answers lost on the way back, settled by a retry of the same key: one key, one order.

The simulator drops the broker's acknowledgement and the read-back's open-orders answer, so
the writer cannot know; the policy keeps the key pending and the approval reserved, and the
retry of the same key asks the writer to read the broker back by orderRef before anything.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from gateway_sim import Msg, OrderScript
from livegate_api.v1 import common_pb2, policy_pb2, writer_pb2, writer_pb2_grpc
from tests.broker_truth.flows import Desk, answer_of
from tests.policy.harness import new_key, order_msg
from tests.support.stack import live_stack
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT
from tests.writer.conftest import stub

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
                account_id=ACCOUNT, order=order_msg("1", "189.00")
            ),
            timeout=10,
        )
    )
    assert (answer.code, answer.reason) == (grpc.StatusCode.UNAVAILABLE, "WRITER_UNAVAILABLE")
    assert answer.metadata["writer_reason"] == "BROKER_TIMEOUT"


def test_settle_when_writer_closed_then_it_reads_the_broker_and_answers_the_order(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    """A writer closed (a restart, a close) checks its switch only at a send: a settle reads
    the broker's truth first, so the order placed by the lost first try is answered, once."""
    with live_stack(dev_pki, tmp_path, stack_vault) as stack:
        desk = Desk(stack)
        preview_id, approval_id = desk.approved()
        key = new_key()
        desk.sim.drop("place_ack")
        desk.sim.drop("open_orders")
        assert desk.submit(preview_id, approval_id, key).reason == "WRITER_OUTCOME_UNKNOWN"
        # The writer's own switch closed above any version the policy's sync will send.
        writer = stub(dev_pki, "policy", stack.writer.port)
        _sync(writer, common_pb2.KILL_SWITCH_STATE_CLOSED, HIGH_VERSION)
        writes = len(stack.sim.received_writes())

        settled = desk.submit(preview_id, approval_id, key)

        assert settled.ok and settled.response.replayed, settled
        assert len(desk.broker_orders(key)) == 1
        assert (desk.key_state(key), desk.approval_state(approval_id)) == ("SUCCEEDED", "consumed")
        assert len(stack.sim.received_writes()) == writes  # the closed writer sent nothing


HIGH_VERSION = 10**9


def _sync(writer: writer_pb2_grpc.WriterServiceStub, state: int, version: int) -> None:
    writer.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(state=state, reason="test", version=version),
        timeout=5,
    )
