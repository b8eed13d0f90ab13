"""`livegate incident` fills the template from the audit trail of real requests."""

from __future__ import annotations

import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import grpc
import pytest

from gateway_sim.ledger import commission_for
from livegate_api.v1 import policy_pb2
from livegate_cli import incident
from tests.policy.harness import new_key
from tests.support.net import wait_until
from tests.support.stack import Stack


def _incident(stack: Stack, *selector: str) -> str:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "livegate"), "incident", *selector,
         "--target", f"localhost:{stack.policy.port}", "--pki", str(stack.pki)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _report(stack: Stack, request_id: str) -> dict[str, str]:
    rows = {}
    for line in _incident(stack, "--request-id", request_id).splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) == 2 and parts[0] not in ("field", "---"):
            rows[parts[0]] = parts[1]
    return rows


def _fill_rows(report: str) -> list[list[str]]:
    """The cells of the report's fills table, one list per fill."""
    section = report.partition("## Fills")[2].partition("## Order status")[0]
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith(("| ---", "| recorded"))
    ]


def _submit(stack: Stack, request_id: str, key: str, preview_id: str, approval_id: str) -> None:
    stack.policy.upstream.SubmitOrder(
        policy_pb2.SubmitOrderRequest(
            account_id="U1234567", preview_id=preview_id, approval_id=approval_id,
            idempotency_key=key,
        ),
        metadata=(("x-request-id", request_id),),
        timeout=15,
    )  # fmt: skip


def test_incident_when_request_executed_then_every_field_the_trail_knows_is_filled(
    stack: Stack,
) -> None:
    preview_id, approval_id = stack.approved()
    request_id, key = f"req-{uuid.uuid4().hex[:12]}", new_key()
    _submit(stack, request_id, key, preview_id, approval_id)
    [order] = stack.broker_orders_with_ref(key)
    rows = _report(stack, request_id)
    assert rows["Request id"] == request_id
    assert rows["Idempotency key"] == key
    assert rows["Approval id"] == approval_id
    assert rows["Broker order id"] == str(order.order_id)
    assert rows["Tool name"] == "SubmitOrder"
    assert rows["Kill switch state before"] == "OPEN"
    assert rows["Kill switch state after"] == "OPEN"
    assert rows["Live limit policy id"] not in ("", incident.UNKNOWN)
    assert len(rows["Account id hash"]) >= 32 and "U1234567" not in rows["Account id hash"]
    assert rows["Refusal or execution status"].endswith("EXECUTED OK (gate step 12)")
    assert rows["Audit event ids"].replace(",", "").replace(" ", "").isdigit()
    assert rows["Operator"] == "upstream"


def test_incident_when_request_refused_then_reason_and_gate_step_are_reported(
    stack: Stack,
) -> None:
    preview_id, _approval_id = stack.approved()
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    with pytest.raises(grpc.RpcError):
        _submit(stack, request_id, new_key(), preview_id, "apr_does_not_exist")
    rows = _report(stack, request_id)
    assert rows["Request id"] == request_id
    assert rows["Approval id"] == "apr_does_not_exist"
    assert "REFUSED" in rows["Refusal or execution status"]
    assert "APPROVAL_NOT_FOUND" in rows["Refusal or execution status"]
    assert "(gate step 8)" in rows["Refusal or execution status"]
    assert rows["Broker order id"] == incident.UNKNOWN


def test_incident_when_key_filled_in_parts_then_each_fill_is_listed_with_its_commission(
    stack: Stack,
) -> None:
    preview_id, approval_id = stack.approved(qty="3")
    key = new_key()
    _submit(stack, f"req-{uuid.uuid4().hex[:12]}", key, preview_id, approval_id)
    [order] = stack.broker_orders_with_ref(key)
    stack.sim.fill(order_ref=key, quantity=Decimal(1), price=Decimal("189.00"))
    stack.sim.fill(order_ref=key, quantity=Decimal(2), price=Decimal("188.90"))
    fee = str(commission_for(Decimal(1), Decimal("189.00")))

    def listed() -> list[list[str]]:
        stack.policy.service.fills.run()
        return _fill_rows(_incident(stack, "--idempotency-key", key))

    # Both fills, each with its commission (IB may report it after the execution).
    ok = wait_until(lambda: [r[7][:1].isdigit() for r in listed()] == [True, True])
    assert ok, _incident(stack, "--idempotency-key", key)
    first, second = listed()
    assert [first[2], first[3], first[4], first[5], first[8]] == [
        str(order.order_id), key, "BUY", "1", "1",
    ]  # fmt: skip
    assert [second[5], second[8]] == ["2", "3"]
    assert Decimal(first[7]) == Decimal(fee) and Decimal(first[6]) == Decimal("189.00")
    statuses = _incident(stack, "--idempotency-key", key).partition("## Order status")[2]
    assert f"| {order.order_id} | {key} | Filled |" in statuses
