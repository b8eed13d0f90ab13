"""Issue 15, item 6: each refusal is audited; with the audit down, a CRITICAL line and a metric."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.fake_writer import Refusal
from tests.policy.harness import Harness, new_key, reason_of
from tests.support.db_faults import postgres_read_only, sqlite_immutable

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
OPEN = common_pb2.KILL_SWITCH_STATE_OPEN


def _unaudited(method: str, reason: str) -> float:
    labels = {"method": method, "reason": reason}
    return REGISTRY.get_sample_value("livegate_unaudited_total", labels) or 0.0


def _events(h: Harness, request_id: str) -> list[dict[str, Any]]:
    return [e for e in h.rows("audit_events") if e["request_id"] == request_id]


def _unwritable(h: Harness) -> AbstractContextManager[None]:
    if h.db_url.startswith("sqlite"):
        return sqlite_immutable(Path(h.db_url.removeprefix("sqlite:///")))
    return postgres_read_only(h.db_url)


def test_submit_when_a_recorded_refusal_is_replayed_then_the_replay_is_audited(
    policy: Harness,
) -> None:
    key = new_key()
    pair = policy.approved()
    policy.writer.servicer.state.refuse_next = Refusal(
        grpc.StatusCode.FAILED_PRECONDITION, "BROKER_REJECTED", "201 order rejected"
    )
    with pytest.raises(grpc.RpcError) as first:
        policy.submit(*pair, key=key)
    assert reason_of(first.value) == "BROKER_REJECTED"
    with pytest.raises(grpc.RpcError) as again:
        _submit(policy, "replay-1", pair, key)
    assert reason_of(again.value) == "BROKER_REJECTED"
    [event] = _events(policy, "replay-1")
    assert (event["method"], event["outcome"], event["reason"]) == (
        "SubmitOrder",
        "REFUSED",
        "BROKER_REJECTED",
    )
    assert json.loads(event["detail"])["replayed"] == "true"
    assert event["idempotency_key"] == key


def _submit(
    h: Harness, request_id: str, pair: tuple[str, str], key: str | None = None
) -> policy_pb2.SubmitOrderResponse:
    return h.upstream.SubmitOrder(  # type: ignore[no-any-return]
        policy_pb2.SubmitOrderRequest(
            account_id="U1234567", preview_id=pair[0], approval_id=pair[1],
            idempotency_key=key or new_key(),
        ),
        metadata=_meta(request_id),
    )  # fmt: skip


def _boom(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("an error nobody foresaw")


def test_rpc_when_an_unexpected_error_then_internal_and_audited(
    policy: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(policy.service.gate, "execute", _boom)
    pair = policy.approved()
    with pytest.raises(grpc.RpcError) as failed:
        _submit(policy, "internal-1", pair)
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert reason_of(failed.value) == "INTERNAL_ERROR"
    [event] = _events(policy, "internal-1")
    assert (event["method"], event["outcome"], event["reason"]) == (
        "SubmitOrder",
        "REFUSED",
        "INTERNAL_ERROR",
    )


# (harness, request id, {"approved": (preview, approval), "fresh": an unapproved preview id})
Call = Callable[[Harness, str, dict[str, Any]], Any]


def _meta(request_id: str) -> tuple[tuple[str, str]]:
    return (("x-request-id", request_id),)


CASES: list[tuple[str, str, Call]] = [
    (
        "CreateOrderPreview",
        "AUDIT_UNAVAILABLE",
        lambda h, rid, _ids: h.upstream.CreateOrderPreview(
            policy_pb2.CreateOrderPreviewRequest(
                account_id="U1234567",
                order=common_pb2.Order(
                    instrument=common_pb2.Instrument(
                        symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK
                    ),
                    action=common_pb2.ACTION_BUY, quantity="10",
                    order_type=common_pb2.ORDER_TYPE_LIMIT, limit_price="100.00",
                    time_in_force=common_pb2.TIME_IN_FORCE_DAY,
                ),
            ),
            metadata=_meta(rid),
        ),
    ),
    (
        "ApprovePreview",
        "AUDIT_UNAVAILABLE",
        lambda h, rid, ids: h.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=ids["fresh"]), metadata=_meta(rid)
        ),
    ),
    (
        "SetKillSwitch",
        "AUDIT_UNAVAILABLE",
        lambda h, rid, _ids: h.operator.SetKillSwitch(
            policy_pb2.SetKillSwitchRequest(state=OPEN, reason="reopen"), metadata=_meta(rid)
        ),
    ),
    (
        "SetKillSwitch",
        "KILL_SWITCH_CLOSE_NOT_STORED",
        lambda h, rid, _ids: h.operator.SetKillSwitch(
            policy_pb2.SetKillSwitchRequest(state=CLOSED, reason="stop"), metadata=_meta(rid)
        ),
    ),
    (
        "SubmitOrder",
        "INTERNAL_ERROR",
        lambda h, rid, ids: _submit(h, rid, ids["approved"]),
    ),
]  # fmt: skip


def test_calls_when_storage_fails_and_the_audit_is_down_then_critical_with_request_id_and_counted(
    policy: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Storage failures in previews, approvals and SetKillSwitch, and an INTERNAL error."""
    ids = {"approved": policy.approved(), "fresh": policy.preview().preview_id}
    monkeypatch.setattr(policy.service.gate, "execute", _boom)
    caplog.set_level(logging.CRITICAL, logger="livegate.policy.unaudited")
    with _unwritable(policy):
        for number, (method, reason, call) in enumerate(CASES):
            request_id = f"unaudited-{number}"
            before = _unaudited(method, reason)
            with pytest.raises(grpc.RpcError) as refused:
                call(policy, request_id, ids)
            assert reason_of(refused.value) == reason, method
            assert _unaudited(method, reason) == before + 1, (method, reason)
            critical = [
                r
                for r in caplog.records
                if r.levelno == logging.CRITICAL and getattr(r, "request_id", "") == request_id
            ]
            assert critical and critical[0].reason == reason, (method, reason)  # type: ignore[attr-defined]
