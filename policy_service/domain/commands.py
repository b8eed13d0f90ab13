"""The live-write commands the servicer hands the gate, already shape-checked (step 2)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from policy_service.domain.model import BrokerOrder, Changes


@dataclass(frozen=True)
class SubmitCmd:
    account_id: str
    preview_id: str
    approval_id: str
    key: str
    # The caller's strategy tag ("" for none): must be its preview's; scopes stop it.
    strategy: str = ""


@dataclass(frozen=True)
class CancelCmd:
    account_id: str
    broker_order_id: int
    key: str


@dataclass(frozen=True)
class ModifyCmd:
    account_id: str
    broker_order_id: int
    approval_id: str
    preview_id: str
    key: str
    changes: Changes
    strategy: str = ""


@dataclass(frozen=True)
class BracketCmd:
    account_id: str
    preview_ids: tuple[str, str, str]
    approval_ids: tuple[str, str, str]
    key: str
    strategy: str = ""


Command = SubmitCmd | CancelCmd | ModifyCmd | BracketCmd


def request_hash(cmd: Command) -> str:
    """Fingerprint of a request: the same key with another fingerprint is a different request."""

    def default(value: Any) -> str:
        return str(value) if isinstance(value, Decimal) else repr(value)

    body = {"type": type(cmd).__name__, **asdict(cmd)}
    if not body.get("strategy"):
        # Untagged requests hash as before the tag existed: a retry across an upgrade is the
        # same request.
        body.pop("strategy", None)
    text = json.dumps(body, sort_keys=True, default=default, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    orders: tuple[BrokerOrder, ...]
    replayed: bool
    audit_event_id: int
