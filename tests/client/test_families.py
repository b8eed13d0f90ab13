"""Each refusal family, raised by the client from a real refusal of the real stack."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import grpc
import pytest

from livegate_client import (
    ApprovalError,
    AuditError,
    EnablementError,
    Family,
    IdempotencyError,
    InvalidRequestError,
    KillSwitchError,
    KillSwitchState,
    LeaseState,
    LimitError,
    ScopeError,
    WriterError,
)
from policy_service import config as policy_config
from policy_service.server import build_service
from tests.client.conftest import ClientFor
from tests.client.flows import ACCOUNT, approved, buy
from tests.client.spy import connect
from tests.policy.harness import policy_doc
from tests.support.stack import BROKER_TIMEOUT_S, Stack


def test_submit_when_every_step_passes_then_returns_the_broker_order_in_decimals(
    stack: Stack, client_for: ClientFor
) -> None:
    upstream, approver = client_for("upstream"), client_for("approver")
    preview, approval = approved(upstream, approver, buy(Decimal(3)))
    assert preview.would_pass and preview.reference_price is not None
    assert preview.estimated_notional == Decimal(3) * Decimal("189.00")

    result = upstream.submit_order(ACCOUNT, preview.preview_id, approval.approval_id)

    assert not result.replayed and result.attempts == 1
    assert result.order.order is not None and result.order.order.quantity == Decimal(3)
    assert result.order.order.limit_price == Decimal("189.00")
    [held] = stack.broker_orders_with_ref(result.idempotency_key)
    assert held.order_id == result.order.broker_order_id
    followed = upstream.get_broker_order(ACCOUNT, result.order.broker_order_id)
    assert followed.order_ref == result.idempotency_key
    assert followed.remaining == Decimal(3) and followed.filled == Decimal(0)


def test_preview_when_the_account_id_is_too_long_then_raises_invalid_request(
    client_for: ClientFor,
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        client_for("upstream").create_order_preview("U" * 40, buy())
    err = refused.value
    assert (err.reason, err.gate_step, err.code) == (
        "FIELD_TOO_LONG",
        2,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert err.metadata["field"] == "account_id" and err.request_id


def test_set_kill_switch_when_caller_lacks_the_scope_then_raises_scope_error(
    client_for: ClientFor,
) -> None:
    with pytest.raises(ScopeError) as refused:
        client_for("upstream").set_kill_switch(KillSwitchState.CLOSED, "not mine to close")
    assert refused.value.reason == "SCOPE_MISSING" and refused.value.gate_step == 3
    assert refused.value.metadata["scope"] == "killswitch.operate"


def test_submit_when_live_trading_is_disabled_then_raises_enablement_error(
    stack: Stack, dev_pki: Path, tmp_path: Path
) -> None:
    data = tmp_path / "disabled"
    doc = policy_doc(
        dev_pki, data, stack.writer.port, f"sqlite:///{data / 'policy.db'}",
        broker_timeout_s=BROKER_TIMEOUT_S,
    )  # fmt: skip
    doc["live_trading"]["enabled"] = doc["safety"]["live_trading_enabled"] = False
    disabled = build_service(policy_config.from_document(doc, data)).start()
    client = connect(dev_pki, disabled.port, "upstream")
    try:
        with pytest.raises(EnablementError) as refused:
            client.submit_order(ACCOUNT, "pv_x", "ap_x")
    finally:
        client.close()
        disabled.stop(0.2)
    assert refused.value.reason == "LIVE_TRADING_DISABLED" and refused.value.gate_step == 4
    assert refused.value.attempts == 1  # a decided refusal is never retried


def test_submit_when_kill_switch_closed_then_raises_kill_switch_error_without_retrying(
    client_for: ClientFor,
) -> None:
    upstream, approver, operator = (client_for(n) for n in ("upstream", "approver", "operator"))
    preview, approval = approved(upstream, approver)
    change = operator.set_kill_switch(KillSwitchState.CLOSED, "test: stop")
    assert change.writer_synced and change.kill_switch.state is KillSwitchState.CLOSED

    with pytest.raises(KillSwitchError) as refused:
        upstream.submit_order(ACCOUNT, preview.preview_id, approval.approval_id)
    err = refused.value
    assert (err.reason, err.gate_step, err.family) == ("KILL_SWITCH_CLOSED", 6, Family.KILL_SWITCH)
    assert not err.retryable and err.attempts == 1
    assert err.metadata["version"] == str(change.kill_switch.version)


def test_submit_when_the_approval_was_used_then_raises_approval_error(
    client_for: ClientFor,
) -> None:
    upstream, approver = client_for("upstream"), client_for("approver")
    preview, approval = approved(upstream, approver)
    upstream.submit_order(ACCOUNT, preview.preview_id, approval.approval_id)

    with pytest.raises(ApprovalError) as refused:
        upstream.submit_order(ACCOUNT, preview.preview_id, approval.approval_id)
    assert refused.value.reason == "APPROVAL_CONSUMED" and refused.value.gate_step == 8


def test_submit_when_quantity_exceeds_the_policy_then_raises_limit_error(
    client_for: ClientFor,
) -> None:
    upstream, approver = client_for("upstream"), client_for("approver")
    preview, approval = approved(upstream, approver, buy(Decimal(600)))
    assert not preview.would_pass

    with pytest.raises(LimitError) as refused:
        upstream.submit_order(ACCOUNT, preview.preview_id, approval.approval_id)
    assert refused.value.reason == "QUANTITY_EXCEEDS_MAX" and refused.value.gate_step == 9
    assert refused.value.metadata["max_quantity"] == "500"


def test_submit_when_the_key_was_used_for_another_request_then_raises_idempotency_error(
    client_for: ClientFor,
) -> None:
    upstream, approver = client_for("upstream"), client_for("approver")
    first, first_approval = approved(upstream, approver)
    done = upstream.submit_order(ACCOUNT, first.preview_id, first_approval.approval_id)
    other, other_approval = approved(upstream, approver)

    with pytest.raises(IdempotencyError) as refused:
        upstream.submit_order(
            ACCOUNT, other.preview_id, other_approval.approval_id,
            idempotency_key=done.idempotency_key,
        )  # fmt: skip
    err = refused.value
    assert (err.reason, err.code) == ("IDEMPOTENCY_KEY_REUSED", grpc.StatusCode.ALREADY_EXISTS)
    assert err.idempotency_key == done.idempotency_key


def test_cancel_when_the_broker_holds_no_such_order_then_raises_writer_error(
    client_for: ClientFor,
) -> None:
    upstream = client_for("upstream")
    with pytest.raises(WriterError) as refused:
        upstream.cancel_order(ACCOUNT, 987654)
    # The writer's own reason is relayed at step 11: a reason this client need not know.
    assert refused.value.gate_step == 11 and not refused.value.retryable
    with pytest.raises(WriterError) as unknown:
        upstream.get_broker_order(ACCOUNT, 987654)
    assert unknown.value.reason == "WRITER_ORDER_NOT_FOUND"


def test_purge_when_nothing_is_past_retention_then_raises_audit_error(
    client_for: ClientFor,
) -> None:
    with pytest.raises(AuditError) as refused:
        client_for("operator").purge_audit(dt.datetime.now(dt.UTC), dry_run=True)
    assert refused.value.reason in ("AUDIT_RETENTION_NOT_REACHED", "AUDIT_EXPORT_REQUIRED")


def test_lease_when_renewed_and_released_then_typed_and_out_of_range_raises_invalid_request(
    client_for: ClientFor,
) -> None:
    upstream = client_for("upstream")

    lease = upstream.renew_lease(30.0)
    with pytest.raises(InvalidRequestError) as refused:
        upstream.renew_lease(1.0)  # under dead_man.min_ttl_s (5 s by default)
    released = upstream.release_lease()

    assert (lease.principal, lease.state, lease.ttl_s) == ("upstream", LeaseState.ACTIVE, 30.0)
    assert lease.expires_at is not None and lease.renewed_at is not None
    assert lease.expires_at - lease.renewed_at == dt.timedelta(seconds=30)
    err = refused.value
    assert (err.reason, err.gate_step) == ("LEASE_TTL_OUT_OF_RANGE", 2)
    assert (err.metadata["ttl_s"], err.metadata["min_ttl_s"]) == ("1", "5")
    assert released.state is LeaseState.RELEASED and released.released_at is not None
