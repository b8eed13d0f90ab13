"""Each gate step refuses with its own status and reason and writes nothing but audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.conftest import MakePolicy
from tests.policy.harness import (
    ACCOUNT,
    OTHER_ACCOUNT,
    Harness,
    meta_of,
    new_key,
    order_msg,
    reason_of,
)

WRITE_METHODS = {"SubmitOrder", "CancelOrder", "ModifyOrder", "SubmitBracket", "CancelAllOrders"}


def refused(
    h: Harness, act: Callable[[], Any], code: grpc.StatusCode, reason: str, step: int
) -> dict[str, str]:
    """Run ACT, expect the refusal, and check that only one audit event was written."""
    before = h.snapshot()
    audit_before = h.count("audit_events")
    calls_before = len(h.writer.servicer.state.calls)
    with pytest.raises(grpc.RpcError) as caught:
        act()
    err = caught.value
    assert err.code() == code, err.details()
    assert reason_of(err) == reason
    assert h.snapshot() == before
    assert h.count("audit_events") == audit_before + 1
    event = h.last_audit()
    assert (event["outcome"], event["reason"], event["gate_step"]) == ("REFUSED", reason, step)
    later = [name for name, _ in h.writer.servicer.state.calls[calls_before:]]
    assert not set(later) & WRITE_METHODS
    return meta_of(err)


def test_submit_when_idempotency_key_malformed_then_invalid_argument(policy: Harness) -> None:
    pid, aid = policy.approved()
    refused(
        policy,
        lambda: policy.submit(pid, aid, key="short"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "IDEMPOTENCY_KEY_INVALID",
        2,
    )


def test_preview_when_quantity_not_decimal_then_invalid_argument(policy: Harness) -> None:
    refused(
        policy,
        lambda: policy.preview(order_msg(qty="1e3")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_DECIMAL",
        2,
    )


def test_submit_when_price_off_the_brokers_tick_then_refused_at_step_nine(policy: Harness) -> None:
    """The tick is the broker's (contract details and market rule), not a fixed cent at step 2."""
    preview = policy.preview(order_msg(limit="100.005"))
    [tick] = [c for c in preview.checks if c.name == "price_tick"]
    assert (tick.passed, tick.reason, tick.metadata["tick"]) == (False, "PRICE_NOT_ON_TICK", "0.01")
    aid = policy.approve(preview.preview_id).approval_id
    meta = refused(
        policy,
        lambda: policy.submit(preview.preview_id, aid),
        grpc.StatusCode.FAILED_PRECONDITION,
        "PRICE_NOT_ON_TICK",
        9,
    )
    assert (meta["price"], meta["tick"]) == ("100.005", "0.01")


def test_submit_when_principal_lacks_scope_then_permission_denied(policy: Harness) -> None:
    pid, aid = policy.approved()
    meta = refused(
        policy,
        lambda: policy.submit(pid, aid, stub=policy.approver),
        grpc.StatusCode.PERMISSION_DENIED,
        "SCOPE_MISSING",
        3,
    )
    assert meta["scope"] == "live.submit"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {"live_trading.enabled": False, "safety.live_trading_enabled": False},
            "LIVE_TRADING_DISABLED",
        ),
        (
            {"live_trading.paper_to_live_checklist_acknowledged": False},
            "CHECKLIST_NOT_ACKNOWLEDGED",
        ),
        ({"live_trading.risk_policy_id": "another-policy"}, "RISK_POLICY_MISMATCH"),
    ],
)
def test_submit_when_live_not_enabled_then_failed_precondition(
    make_policy: MakePolicy, overrides: dict[str, Any], reason: str
) -> None:
    h = make_policy(open_switch=False, overrides=overrides)
    pid, aid = h.approved()
    refused(h, lambda: h.submit(pid, aid), grpc.StatusCode.FAILED_PRECONDITION, reason, 4)


def test_submit_when_account_not_allowed_then_permission_denied(policy: Harness) -> None:
    pid, aid = policy.approved()
    meta = refused(
        policy,
        lambda: policy.submit(pid, aid, account=OTHER_ACCOUNT),
        grpc.StatusCode.PERMISSION_DENIED,
        "ACCOUNT_NOT_ALLOWED",
        5,
    )
    assert OTHER_ACCOUNT not in str(meta)


def test_submit_when_kill_switch_closed_then_failed_precondition(policy: Harness) -> None:
    pid, aid = policy.approved()
    policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="stop")
    )
    refused(
        policy,
        lambda: policy.submit(pid, aid),
        grpc.StatusCode.FAILED_PRECONDITION,
        "KILL_SWITCH_CLOSED",
        6,
    )


def test_cancel_when_kill_switch_closed_then_failed_precondition(policy: Harness) -> None:
    policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="stop")
    )
    refused(
        policy,
        lambda: policy.upstream.CancelOrder(
            policy_pb2.CancelOrderRequest(
                account_id=ACCOUNT, broker_order_id=5, idempotency_key=new_key()
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "KILL_SWITCH_CLOSED",
        6,
    )


def _block_audit(h: Harness) -> None:
    with h.engine.begin() as conn:
        if h.db_url.startswith("sqlite"):
            conn.execute(
                sa.text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events "
                    "BEGIN SELECT RAISE(ABORT, 'audit disk gone'); END"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'audit disk gone'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events "
                    "FOR EACH ROW EXECUTE FUNCTION no_audit()"
                )
            )


def test_submit_when_audit_cannot_be_written_then_unavailable_and_nothing_written(
    policy: Harness,
) -> None:
    pid, aid = policy.approved()
    _block_audit(policy)
    before = policy.snapshot()
    with pytest.raises(grpc.RpcError) as caught:
        policy.submit(pid, aid)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason_of(caught.value) == "AUDIT_UNAVAILABLE"
    assert policy.snapshot() == before
    assert policy.writer.servicer.calls("SubmitOrder") == []


def test_submit_when_approval_already_used_then_approval_consumed(policy: Harness) -> None:
    pid, aid = policy.approved()
    policy.submit(pid, aid)
    refused(
        policy,
        lambda: policy.submit(pid, aid),
        grpc.StatusCode.FAILED_PRECONDITION,
        "APPROVAL_CONSUMED",
        8,
    )
    assert len(policy.writer.servicer.calls("SubmitOrder")) == 1


def test_submit_when_approval_expired_then_approval_expired(make_policy: MakePolicy) -> None:
    h = make_policy(overrides={"approvals.ttl_s": 5})
    pid, aid = h.approved()
    h.clock.advance(10)
    refused(
        h, lambda: h.submit(pid, aid), grpc.StatusCode.FAILED_PRECONDITION, "APPROVAL_EXPIRED", 8
    )


def test_submit_when_approval_for_another_preview_then_mismatch(policy: Harness) -> None:
    pid_a, _ = policy.approved()
    _, aid_b = policy.approved()
    refused(
        policy,
        lambda: policy.submit(pid_a, aid_b),
        grpc.StatusCode.FAILED_PRECONDITION,
        "APPROVAL_PREVIEW_MISMATCH",
        8,
    )


def test_submit_when_preview_unknown_then_preview_not_found(policy: Harness) -> None:
    _, aid = policy.approved()
    refused(
        policy,
        lambda: policy.submit("pv_missing", aid),
        grpc.StatusCode.FAILED_PRECONDITION,
        "PREVIEW_NOT_FOUND",
        8,
    )


def test_approve_when_approver_created_preview_then_four_eyes_required(
    make_policy: MakePolicy,
) -> None:
    h = make_policy(
        overrides={
            "principals.upstream.scopes": [
                "preview.create",
                "approval.grant",
                "live.submit",
            ]
        }
    )
    preview = h.preview()
    with pytest.raises(grpc.RpcError) as caught:
        h.upstream.ApprovePreview(policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(caught.value) == "FOUR_EYES_REQUIRED"


@pytest.mark.parametrize(
    ("limits", "order", "reason", "numbers"),
    [
        (
            {"max_quantity": "5"},
            order_msg(qty="10"),
            "QUANTITY_EXCEEDS_MAX",
            {"max_quantity": "5", "quantity": "10"},
        ),
        (
            {"max_notional_per_order": "500"},
            order_msg(),
            "NOTIONAL_EXCEEDS_MAX_PER_ORDER",
            {"max_notional": "500", "notional": "1000.00"},
        ),
        ({}, order_msg(limit="103.00"), "PRICE_OUTSIDE_COLLAR", {"collar_bps": "100"}),
        (
            {"allowed_sec_types": ["STOCK"]},
            order_msg(sec_type=common_pb2.SEC_TYPE_ETF),
            "SEC_TYPE_NOT_ALLOWED",
            {"sec_type": "ETF"},
        ),
        ({"allowed_symbols": ["MSFT"]}, order_msg(), "SYMBOL_NOT_ALLOWED", {"symbol": "AAPL"}),
    ],
)
def test_submit_when_order_breaks_a_limit_then_refused_with_numbers(
    make_policy: MakePolicy,
    limits: dict[str, Any],
    order: common_pb2.Order,
    reason: str,
    numbers: dict[str, str],
) -> None:
    h = make_policy(limits=limits)
    preview = h.preview(order)
    assert not preview.would_pass
    assert reason in {c.reason for c in preview.checks}
    aid = h.approve(preview.preview_id).approval_id
    meta = refused(
        h, lambda: h.submit(preview.preview_id, aid), grpc.StatusCode.FAILED_PRECONDITION, reason, 9
    )
    assert {k: meta[k] for k in numbers} == numbers


def test_submit_when_reference_price_stale_then_refused(make_policy: MakePolicy) -> None:
    h = make_policy(limits={"max_reference_age_s": "30"})
    pid, aid = h.approved()
    h.clock.advance(45)
    meta = refused(
        h,
        lambda: h.submit(pid, aid),
        grpc.StatusCode.FAILED_PRECONDITION,
        "REFERENCE_PRICE_STALE",
        9,
    )
    assert meta["max_age_s"] == "30"


def test_submit_when_rate_exceeded_then_refused(make_policy: MakePolicy) -> None:
    h = make_policy(limits={"max_orders_per_minute": 2})
    approved = [h.approved() for _ in range(3)]
    h.submit(*approved[0])
    h.upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=101, idempotency_key=new_key()
        )
    )
    meta = refused(
        h,
        lambda: h.submit(*approved[2]),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ORDER_RATE_EXCEEDED",
        9,
    )
    assert meta == {**meta, "max_per_minute": "2", "count": "2"}


def test_submit_when_open_orders_at_max_then_refused(make_policy: MakePolicy) -> None:
    h = make_policy(limits={"max_open_orders": 1})
    first, second = h.approved(), h.approved()
    h.submit(*first)
    refused(
        h, lambda: h.submit(*second), grpc.StatusCode.FAILED_PRECONDITION, "OPEN_ORDERS_EXCEEDED", 9
    )


def test_submit_when_daily_notional_used_then_refused(make_policy: MakePolicy) -> None:
    h = make_policy(limits={"max_daily_notional": "1500"})
    first, second = h.approved(), h.approved()
    h.submit(*first)
    meta = refused(
        h,
        lambda: h.submit(*second),
        grpc.StatusCode.FAILED_PRECONDITION,
        "DAILY_NOTIONAL_EXCEEDED",
        9,
    )
    assert (meta["used"], meta["notional"]) == ("1000.00", "1000.00")


def test_submit_when_key_reused_for_other_request_then_already_exists(policy: Harness) -> None:
    key = new_key()
    policy.submit(*policy.approved(), key=key)
    pid, aid = policy.approved()
    refused(
        policy,
        lambda: policy.submit(pid, aid, key=key),
        grpc.StatusCode.ALREADY_EXISTS,
        "IDEMPOTENCY_KEY_REUSED",
        10,
    )


def test_submit_when_writer_refuses_then_status_copied_and_approval_released(
    policy: Harness,
) -> None:
    from tests.policy.fake_writer import Refusal

    pid, aid = policy.approved()
    policy.writer.servicer.state.refuse_next = Refusal(
        grpc.StatusCode.FAILED_PRECONDITION, "BROKER_REJECTED", "201 margin"
    )
    with pytest.raises(grpc.RpcError) as caught:
        policy.submit(pid, aid)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(caught.value) == "BROKER_REJECTED"
    assert policy.rows("approvals")[0]["reserved_key"] is None
    assert policy.submit(pid, aid).order.broker_order_id > 0


def test_submit_when_writer_down_then_unavailable(policy: Harness) -> None:
    pid, aid = policy.approved()
    policy.writer.stop()
    with pytest.raises(grpc.RpcError) as caught:
        policy.submit(pid, aid)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason_of(caught.value) in ("WRITER_UNAVAILABLE", "WRITER_OUTCOME_UNKNOWN")
    event = policy.last_audit()
    assert (event["outcome"], event["gate_step"]) == ("FAILED", 11)


def test_submit_when_every_step_passes_then_executed_and_audited(policy: Harness) -> None:
    pid, aid = policy.approved()
    key = new_key()
    res = policy.submit(pid, aid, key=key)
    assert (res.order.order_ref, res.replayed) == (key, False)
    event = policy.last_audit()
    assert (event["outcome"], event["gate_step"], event["idempotency_key"]) == ("EXECUTED", 12, key)
    assert event["broker_order_id"] == res.order.broker_order_id
    assert ACCOUNT not in str(policy.rows("audit_events"))
    assert policy.rows("approvals")[0]["consumed_at_us"] is not None
