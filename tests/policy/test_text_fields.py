"""Step 2 for characters: every text field, the same answer on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import ACCOUNT, Harness, meta_of, new_key, order_msg, reason_of

OPEN = common_pb2.KILL_SWITCH_STATE_OPEN
CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
# (method, caller, request factory given real preview/approval ids, field, code point)
Case = tuple[str, str, Callable[[str, str], Any], str, str]


def _order_with_symbol(symbol: str) -> common_pb2.Order:
    order = order_msg()
    order.instrument.symbol = symbol
    return order


CASES: list[Case] = [
    (
        "CreateOrderPreview",
        "upstream",
        lambda p, a: policy_pb2.CreateOrderPreviewRequest(
            account_id=ACCOUNT, order=_order_with_symbol("AAPL\x00")
        ),
        "order.instrument.symbol",
        "U+0000",
    ),
    (
        "CreateOrderPreview",
        "upstream",
        lambda p, a: policy_pb2.CreateOrderPreviewRequest(
            account_id="U12\u202e34", order=order_msg()
        ),
        "account_id",
        "U+202E",
    ),
    (
        "CreateBracketPreview",
        "upstream",
        lambda p, a: policy_pb2.CreateBracketPreviewRequest(
            account_id=ACCOUNT,
            instrument=common_pb2.Instrument(
                symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK, exchange="SMART\n"
            ),
        ),
        "instrument.exchange",
        "U+000A",
    ),
    (
        "ApprovePreview",
        "approver",
        lambda p, a: policy_pb2.ApprovePreviewRequest(preview_id=p, comment="ok\x00"),
        "comment",
        "U+0000",
    ),
    (
        "ApprovePreview",
        "approver",
        lambda p, a: policy_pb2.ApprovePreviewRequest(preview_id="\u200b" + p),
        "preview_id",
        "U+200B",
    ),
    (
        "SubmitOrder",
        "upstream",
        lambda p, a: policy_pb2.SubmitOrderRequest(
            account_id=ACCOUNT, preview_id=p, approval_id=a, idempotency_key="key\x7f-12345678"
        ),
        "idempotency_key",
        "U+007F",
    ),
    (
        "ModifyOrder",
        "upstream",
        lambda p, a: policy_pb2.ModifyOrderRequest(
            account_id=ACCOUNT,
            broker_order_id=1,
            preview_id=p,
            approval_id=a,
            idempotency_key=new_key(),
            changes=common_pb2.OrderChanges(quantity="5\u2028"),
        ),
        "changes.quantity",
        "U+2028",
    ),
    (
        "CancelOrder",
        "upstream",
        lambda p, a: policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT + "\x1b", broker_order_id=1, idempotency_key=new_key()
        ),
        "account_id",
        "U+001B",
    ),
    (
        "SubmitBracket",
        "upstream",
        lambda p, a: policy_pb2.SubmitBracketRequest(
            account_id=ACCOUNT, parent_preview_id=p + "\u2066", idempotency_key=new_key()
        ),
        "parent_preview_id",
        "U+2066",
    ),
    (
        "SetKillSwitch",
        "operator",
        lambda p, a: policy_pb2.SetKillSwitchRequest(state=OPEN, reason="all clear\u202e"),
        "reason",
        "U+202E",
    ),
    (
        "ListAuditEvents",
        "operator",
        lambda p, a: policy_pb2.ListAuditEventsRequest(idempotency_key="k\x00"),
        "idempotency_key",
        "U+0000",
    ),
]


def _state(h: Harness) -> dict[str, Any]:
    snap = h.snapshot()
    for table in ("previews", "kill_switch", "kill_switch_history"):
        snap[table] = h.rows(table)
    snap["approval_rows"] = h.rows("approvals")
    return snap


def test_requests_when_a_text_field_holds_a_control_or_format_character_then_refused_at_step_2(
    make_policy: Any,
) -> None:
    h: Harness = make_policy(open_switch=False)
    preview_id, approval_id = h.approved()
    for method, caller, build, field, code_point in CASES:
        before, audited = _state(h), h.count("audit_events")
        with pytest.raises(grpc.RpcError) as refused:
            getattr(h.stub(caller), method)(build(preview_id, approval_id), timeout=10)
        err = refused.value
        case = (method, field)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (case, err.details())
        assert reason_of(err) == "FIELD_INVALID", case
        meta = meta_of(err)
        assert (meta["field"], meta["code_point"], meta["gate_step"]) == (field, code_point, "2")
        # Audited, with the code point and not the character; nothing else written.
        assert h.count("audit_events") == audited + 1, case
        event = h.last_audit()
        assert (event["method"], event["reason"], event["gate_step"]) == (
            method,
            "FIELD_INVALID",
            2,
        ), case
        assert json.loads(event["detail"])["code_point"] == code_point, case
        assert _state(h) == before, case


def test_close_when_reason_is_clean_then_the_character_check_lets_it_through(
    policy: Harness,
) -> None:
    """Text that only looks unusual (accents, emoji, CJK) is not a control character."""
    answer = policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=CLOSED, reason="arrêt d'urgence 💥 停止"),
        timeout=10,
    )
    assert answer.kill_switch.state == CLOSED
    assert policy.service.store.kill_switch().reason == "arrêt d'urgence 💥 停止"


def test_approve_when_comment_holds_nul_then_invalid_argument_on_both_backends(
    policy: Harness,
) -> None:
    preview = policy.preview()
    with pytest.raises(grpc.RpcError) as refused:
        policy.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id, comment="ok\x00"),
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (reason_of(refused.value), meta_of(refused.value)["field"]) == (
        "FIELD_INVALID",
        "comment",
    )
    assert policy.count("approvals") == 0
    assert policy.last_audit()["reason"] == "FIELD_INVALID"
