"""The gate's settings, taken from config at start: plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GateSettings:
    live_enabled: bool
    safety_enabled: bool
    checklist_acknowledged: bool
    configured_policy_id: str
    allowed_accounts: frozenset[str]
    retention_days: int
    export_before_purge: bool
    account_hash_key: bytes
    preview_ttl_us: int
    approval_ttl_us: int
    four_eyes: bool
    pending_timeout_us: int
