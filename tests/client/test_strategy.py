"""The client carries the strategy tag on previews and writes, against the real stack: a tagged
preview comes back with its tag, its write passes only under the same tag, a strategy's stop
refuses that tag's calls only, and a bracket's write takes its group's tag by itself."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_client import Action, ApprovalError, Instrument, KillSwitchError
from tests.client.conftest import ClientFor
from tests.client.flows import ACCOUNT, RESTING_BUY, buy
from tests.support.grpc_clients import channel_as
from tests.support.stack import Stack

TAG = "mean-rev.v2"


def test_submit_when_preview_and_write_carry_the_tag_then_passes_and_preview_shows_it(
    stack: Stack, client_for: ClientFor
) -> None:
    upstream, approver = client_for("upstream"), client_for("approver")
    preview = upstream.create_order_preview(ACCOUNT, buy(), strategy=TAG)
    approval = approver.approve_preview(preview.preview_id)

    result = upstream.submit_order(ACCOUNT, preview.preview_id, approval.approval_id, strategy=TAG)

    assert preview.strategy == TAG
    assert [o.order_id for o in stack.broker_orders_with_ref(result.idempotency_key)] == [
        result.order.broker_order_id
    ]


def test_submit_when_the_write_omits_the_previews_tag_then_raises_strategy_mismatch(
    stack: Stack, client_for: ClientFor
) -> None:
    upstream, approver = client_for("upstream"), client_for("approver")
    preview = upstream.create_order_preview(ACCOUNT, buy(), strategy=TAG)
    approval = approver.approve_preview(preview.preview_id)

    with pytest.raises(ApprovalError) as refused:
        upstream.submit_order(ACCOUNT, preview.preview_id, approval.approval_id)

    assert refused.value.reason == "STRATEGY_MISMATCH"
    assert not [o for o in stack.sim.orders() if o.order_ref == refused.value.idempotency_key]


def test_preview_when_its_strategy_is_stopped_then_raises_and_other_tags_pass(
    stack: Stack, client_for: ClientFor
) -> None:
    channel = channel_as(stack.pki, "operator", stack.policy.port)
    stack.policy.channels.append(channel)
    policy_pb2_grpc.PolicyServiceStub(channel).SetScopedStop(
        policy_pb2.SetScopedStopRequest(
            kind=policy_pb2.SCOPE_KIND_STRATEGY, value=TAG,
            state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="INC-1",
        ),
        metadata=(("x-request-id", f"rid-{uuid.uuid4().hex[:12]}"),),
        timeout=30,
    )  # fmt: skip
    upstream = client_for("upstream")

    with pytest.raises(KillSwitchError) as refused:
        upstream.create_order_preview(ACCOUNT, buy(), strategy=TAG)

    assert refused.value.reason == "SCOPE_STOPPED_STRATEGY"
    assert upstream.create_order_preview(ACCOUNT, buy(), strategy="momo").strategy == "momo"


def test_submit_bracket_when_previewed_under_a_tag_then_the_write_carries_it(
    stack: Stack, client_for: ClientFor
) -> None:
    upstream, approver = client_for("upstream"), client_for("approver")
    group = upstream.create_bracket_preview(
        ACCOUNT, Instrument("AAPL"), Action.BUY, Decimal(1), RESTING_BUY,
        Decimal("190.50"), Decimal("188.00"), strategy=TAG,
    )  # fmt: skip
    legs = (group.parent, group.take_profit, group.stop_loss)
    ids = tuple(approver.approve_preview(p.preview_id).approval_id for p in legs)

    result = upstream.submit_bracket(ACCOUNT, group, ids)  # type: ignore[arg-type]

    assert {p.strategy for p in legs} == {TAG}
    assert result.parent.broker_order_id > 0
    key = result.idempotency_key
    held = {o.order_ref for o in stack.sim.orders()}
    assert {key, f"{key}~tp", f"{key}~sl"} <= held
