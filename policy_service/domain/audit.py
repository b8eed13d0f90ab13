"""Audit events: the draft the gate fills, the keyed account hash, and the hash chain rules."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from livegate_common.account_hash import account_hash as account_hash  # re-exported
from policy_service import reasons

# Fields hashed into an event, in this order; "hash" itself is the output.
HASHED_FIELDS: tuple[str, ...] = (
    "event_id",
    "occurred_at_us",
    "method",
    "request_id",
    "principal",
    "account_id_hash",
    "preview_id",
    "approval_id",
    "idempotency_key",
    "broker_order_id",
    "kill_switch_state",
    "risk_policy_id",
    "outcome",
    "status_code",
    "reason",
    "gate_step",
    "detail",
    "prev_hash",
)


@dataclass(frozen=True)
class AuditDraft:
    """An event before the store gives it an id, a time and its place in the chain."""

    method: str
    request_id: str
    principal: str
    outcome: str  # EXECUTED, REFUSED, FAILED, RECORDED, PENDING
    status_code: str = "OK"
    reason: str = ""
    gate_step: int = 0
    account_id_hash: str = ""
    preview_id: str = ""
    approval_id: str = ""
    idempotency_key: str = ""
    broker_order_id: int = 0
    kill_switch_state: str = ""
    risk_policy_id: str = ""
    detail: Mapping[str, str] = field(default_factory=dict)


def canonical(event: Mapping[str, Any]) -> str:
    body = {name: event[name] for name in HASHED_FIELDS}
    detail = body["detail"]
    body["detail"] = json.loads(detail) if isinstance(detail, str) else dict(detail)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: Mapping[str, Any]) -> str:
    """sha256(prev_hash + canonical JSON of the event), hex."""
    return hashlib.sha256((event["prev_hash"] + canonical(event)).encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    events_checked: int
    first_bad_event_id: int = 0
    problem: str = ""
    head_hash: str = ""


def verify_chain(
    events: Iterable[Mapping[str, Any]],
    start_after_id: int,
    start_after_hash: str,
    head_event_id: int,
    head_hash: str,
) -> Verification:
    """Walk events in id order from START_AFTER_ID + 1; the head row catches a removed tail."""
    expected_id, prev_hash, checked = start_after_id + 1, start_after_hash, 0
    for event in events:
        event_id = int(event["event_id"])
        if event_id != expected_id:
            return Verification(False, checked, expected_id, reasons.AUDIT_CHAIN_GAP, prev_hash)
        if event["prev_hash"] != prev_hash:
            return Verification(False, checked, event_id, reasons.AUDIT_CHAIN_BROKEN, prev_hash)
        if event_hash(event) != event["hash"]:
            return Verification(False, checked, event_id, reasons.AUDIT_HASH_MISMATCH, prev_hash)
        checked += 1
        prev_hash = event["hash"]
        expected_id += 1
    if expected_id - 1 != head_event_id or prev_hash != head_hash:
        return Verification(False, checked, expected_id, reasons.AUDIT_HEAD_MISMATCH, prev_hash)
    return Verification(True, checked, 0, "", prev_hash)
