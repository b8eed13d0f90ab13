"""Modify and bracket paths: replacement previews, bounded changes, one preview group."""

from __future__ import annotations

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import ACCOUNT, Harness, new_key, reason_of
from tests.policy.test_gate_steps import refused


def _live_order(h: Harness) -> int:
    return h.submit(*h.approved()).order.broker_order_id


def _modify_preview(h: Harness, broker_id: int, **changes: str) -> policy_pb2.Preview:
    return h.upstream.CreateModifyPreview(
        policy_pb2.CreateModifyPreviewRequest(
            account_id=ACCOUNT,
            broker_order_id=broker_id,
            changes=common_pb2.OrderChanges(**changes),
        )
    )


def _modify(
    h: Harness, broker_id: int, preview_id: str, approval_id: str, **changes: str
) -> policy_pb2.ModifyOrderResponse:
    return h.upstream.ModifyOrder(
        policy_pb2.ModifyOrderRequest(
            account_id=ACCOUNT,
            broker_order_id=broker_id,
            approval_id=approval_id,
            preview_id=preview_id,
            idempotency_key=new_key(),
            changes=common_pb2.OrderChanges(**changes),
        )
    )


def test_modify_preview_when_order_live_then_replacement_loaded_from_writer(
    policy: Harness,
) -> None:
    broker_id = _live_order(policy)
    preview = _modify_preview(policy, broker_id, limit_price="100.20")
    assert policy.writer.servicer.calls("GetOrder")[-1].broker_order_id == broker_id
    assert (preview.order.limit_price, preview.order.quantity) == ("100.20", "10")
    assert preview.kind == policy_pb2.PREVIEW_KIND_MODIFY


def test_modify_when_approved_changes_sent_then_writer_modifies(policy: Harness) -> None:
    broker_id = _live_order(policy)
    preview = _modify_preview(policy, broker_id, quantity="20")
    aid = policy.approve(preview.preview_id).approval_id
    res = _modify(policy, broker_id, preview.preview_id, aid, quantity="20")
    assert res.order.order.quantity == "20"
    assert policy.writer.servicer.calls("ModifyOrder")[0].changes.quantity == "20"


def test_modify_when_changes_empty_then_refused_before_any_state(policy: Harness) -> None:
    broker_id = _live_order(policy)
    preview = _modify_preview(policy, broker_id, quantity="20")
    aid = policy.approve(preview.preview_id).approval_id
    refused(
        policy,
        lambda: _modify(policy, broker_id, preview.preview_id, aid),
        grpc.StatusCode.INVALID_ARGUMENT,
        "CHANGES_EMPTY",
        2,
    )


def test_modify_when_changes_differ_from_approved_then_refused(policy: Harness) -> None:
    broker_id = _live_order(policy)
    preview = _modify_preview(policy, broker_id, quantity="20")
    aid = policy.approve(preview.preview_id).approval_id
    meta = refused(
        policy,
        lambda: _modify(policy, broker_id, preview.preview_id, aid, quantity="400"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "MODIFY_CHANGES_MISMATCH",
        8,
    )
    assert meta["field"] == "quantity"


def test_modify_when_replacement_breaks_limit_then_refused(make_policy) -> None:  # type: ignore[no-untyped-def]
    h = make_policy(limits={"max_quantity": "50"})
    broker_id = _live_order(h)
    preview = _modify_preview(h, broker_id, quantity="60")
    aid = h.approve(preview.preview_id).approval_id
    refused(
        h,
        lambda: _modify(h, broker_id, preview.preview_id, aid, quantity="60"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "QUANTITY_EXCEEDS_MAX",
        9,
    )


def test_modify_preview_when_price_change_not_applicable_then_invalid_argument(
    policy: Harness,
) -> None:
    broker_id = _live_order(policy)
    with pytest.raises(grpc.RpcError) as caught:
        _modify_preview(policy, broker_id, stop_price="99.00")
    assert reason_of(caught.value) == "CHANGE_NOT_APPLICABLE"


def _approve_group(h: Harness, group: policy_pb2.BracketPreview) -> list[str]:
    return [
        h.approve(p.preview_id).approval_id
        for p in (group.parent, group.take_profit, group.stop_loss)
    ]


def _bracket(
    h: Harness, previews: list[str], approvals: list[str], key: str | None = None
) -> policy_pb2.SubmitBracketResponse:
    return h.upstream.SubmitBracket(
        policy_pb2.SubmitBracketRequest(
            account_id=ACCOUNT,
            parent_preview_id=previews[0],
            take_profit_preview_id=previews[1],
            stop_loss_preview_id=previews[2],
            parent_approval_id=approvals[0],
            take_profit_approval_id=approvals[1],
            stop_loss_approval_id=approvals[2],
            idempotency_key=key or new_key(),
        )
    )


def _ids(group: policy_pb2.BracketPreview) -> list[str]:
    return [group.parent.preview_id, group.take_profit.preview_id, group.stop_loss.preview_id]


def test_bracket_when_one_group_approved_then_three_legs_placed(policy: Harness) -> None:
    group = policy.bracket_preview()
    assert {group.parent.group_id, group.stop_loss.group_id} == {group.group_id}
    res = _bracket(policy, _ids(group), _approve_group(policy, group))
    assert res.take_profit.parent_id == res.parent.broker_order_id
    assert res.stop_loss.order_ref.endswith("~sl")
    assert len(policy.writer.servicer.calls("SubmitBracket")) == 1


def test_bracket_when_legs_from_two_groups_then_mixed_group_refused(policy: Harness) -> None:
    first, second = policy.bracket_preview(), policy.bracket_preview()
    approvals_1, approvals_2 = _approve_group(policy, first), _approve_group(policy, second)
    previews = [first.parent.preview_id, second.take_profit.preview_id, first.stop_loss.preview_id]
    approvals = [approvals_1[0], approvals_2[1], approvals_1[2]]
    refused(
        policy,
        lambda: _bracket(policy, previews, approvals),
        grpc.StatusCode.FAILED_PRECONDITION,
        "BRACKET_GROUP_MIXED",
        8,
    )


def test_bracket_when_legs_swapped_then_leg_mismatch(policy: Harness) -> None:
    group = policy.bracket_preview()
    approvals = _approve_group(policy, group)
    ids = _ids(group)
    refused(
        policy,
        lambda: _bracket(
            policy, [ids[0], ids[2], ids[1]], [approvals[0], approvals[2], approvals[1]]
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "BRACKET_LEG_MISMATCH",
        8,
    )


def test_bracket_preview_when_stop_above_entry_for_buy_then_invalid_argument(
    policy: Harness,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        policy.bracket_preview(take_profit="101.00", stop_loss="100.50")
    assert reason_of(caught.value) == "BRACKET_PRICES_INVALID"


def test_cancel_when_order_open_then_cancelled_without_preview(policy: Harness) -> None:
    broker_id = _live_order(policy)
    assert policy.count("open_orders") == 1
    res = policy.upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=broker_id, idempotency_key=new_key()
        )
    )
    assert res.order.status == "Cancelled"
    assert policy.count("open_orders") == 0
