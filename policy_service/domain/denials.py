"""Denials more than one part of the gate hands out, and their stored form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.ports import WriterError


def scope_denial(call: m.Call, scope: str) -> m.Denial | None:
    if scope in call.scopes:
        return None
    return m.Denial(
        reasons.SCOPE_MISSING,
        "PERMISSION_DENIED",
        3,
        f"principal {call.principal} lacks scope {scope}",
        {"principal": call.principal, "scope": scope},
    )


def closed(switch: m.KillSwitch) -> m.Denial:
    return m.Denial(
        reasons.KILL_SWITCH_CLOSED,
        "FAILED_PRECONDITION",
        6,
        "the kill switch is closed",
        {"version": str(switch.version), "changed_by": switch.changed_by},
    )


def switch_reducing_bracket(switch: m.KillSwitch) -> m.Denial:
    return m.Denial(
        reasons.KILL_SWITCH_REDUCING_BRACKET,
        "FAILED_PRECONDITION",
        6,
        "the kill switch is REDUCING: brackets are refused (cancels and position-reducing "
        "orders pass)",
        {"version": str(switch.version), "changed_by": switch.changed_by},
    )


def audit_down() -> m.Denial:
    return m.Denial(reasons.AUDIT_UNAVAILABLE, "UNAVAILABLE", 7, "the audit log cannot be written")


def reference_unavailable(data: str, message: str, **numbers: str) -> m.Denial:
    """Step 9: broker reference data (DATA) the check needs could not be had: a refusal, never
    a check skipped."""
    return m.Denial(
        reasons.REFERENCE_DATA_UNAVAILABLE, "UNAVAILABLE", 9, message, {"data": data, **numbers}
    )


def writer_denial(err: WriterError, step: int) -> m.Denial:
    """A read through the writer that failed: not found, refused, or unreachable."""
    if err.kind == "NOT_FOUND":
        return m.Denial(
            reasons.WRITER_ORDER_NOT_FOUND, "NOT_FOUND", step, "the writer does not know the order"
        )
    if err.kind == "REFUSED":
        return m.Denial(
            err.reason or reasons.WRITER_REFUSED,
            err.code,
            step,
            err.message,
            {**err.metadata, "writer_reason": err.reason},
        )
    # A read has no outcome to settle: unknown or unreachable, nothing is made, and the
    # writer's reason (BROKER_TIMEOUT, say) says why.
    return m.Denial(
        reasons.WRITER_UNAVAILABLE,
        "UNAVAILABLE",
        step,
        f"the writer could not answer: {err.message}",
        {**err.metadata, "grpc_code": err.code, "writer_reason": err.reason},
    )


def order_account_mismatch(broker_order_id: int) -> m.Denial:
    return m.Denial(
        reasons.ORDER_ACCOUNT_MISMATCH,
        "PERMISSION_DENIED",
        5,
        "the broker order belongs to another account",
        {"broker_order_id": str(broker_order_id)},
    )


def internal() -> m.Denial:
    return m.Denial(reasons.INTERNAL_ERROR, "INTERNAL", 8, "inconsistent preview state")


def to_dict(denial: m.Denial) -> dict[str, Any]:
    return {
        "reason": denial.reason,
        "code": denial.code,
        "step": denial.step,
        "message": denial.message,
        "metadata": dict(denial.metadata),
    }


def from_dict(data: Mapping[str, Any]) -> m.Denial:
    return m.Denial(
        data["reason"], data["code"], int(data["step"]), data["message"], dict(data["metadata"])
    )


def day_of(now_us: int) -> str:
    """The UTC trading day a write counts towards (daily notional)."""
    return dt.datetime.fromtimestamp(now_us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d")
