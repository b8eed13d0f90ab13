"""Audit events: the draft the gate fills, the keyed account hash, and how an event is linked."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from livegate_common.account_hash import account_hash as account_hash  # re-exported

# Fields linked into an event, in this order; "hash" (the event's link) is the output. Events
# chained before the keyed chain (plain sha256, key_id "") link these fields only; a keyed
# event links its key id too, so moving an event to another key changes its link.
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
KEYED_FIELDS: tuple[str, ...] = (*HASHED_FIELDS, "key_id")
# The key id of the events chained with plain sha256 before the keyed chain existed.
LEGACY_KEY_ID: Final = ""
# The first event under a new key: it names the old key and its last link (see verification).
ROTATION_METHOD: Final = "AuditKeyRotation"
PURGE_METHOD: Final = "AuditPurge"
# Who the policy service's own audit actions (rotation, incident close) are recorded as.
SERVICE_PRINCIPAL: Final = "livegate-policy"


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


# One encoder for every event: json.dumps with these options would build one per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(event: Mapping[str, Any]) -> str:
    names = KEYED_FIELDS if event.get("key_id") else HASHED_FIELDS
    body = {name: event[name] for name in names}
    detail = body["detail"]
    body["detail"] = json.loads(detail) if isinstance(detail, str) else dict(detail)
    return _CANONICAL.encode(body)


def event_hash(event: Mapping[str, Any]) -> str:
    """The legacy link: sha256(prev_hash + canonical JSON of the event), hex. Anyone can
    compute it, which is why the chain is keyed now; kept to verify events made before."""
    return hashlib.sha256((event["prev_hash"] + canonical(event)).encode()).hexdigest()


def keyed_link(key: bytes, text: str) -> str:
    """HMAC-SHA256 over TEXT (the previous link followed by the canonical JSON), hex."""
    return hmac.digest(key, text.encode(), "sha256").hex()


def event_link(key: bytes, event: Mapping[str, Any]) -> str:
    """An event's link: HMAC-SHA256(key, prev_hash + canonical JSON), hex."""
    return keyed_link(key, event["prev_hash"] + canonical(event))


def detail_of(event: Mapping[str, Any]) -> dict[str, Any]:
    detail = event["detail"]
    return dict(json.loads(detail) if isinstance(detail, str) else detail)
