"""The gate's settings, taken from config at start: plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from policy_service.domain.sessions import Blackout


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
    # Since issue 19: how long a checklist acknowledgement enables writes, the version it must
    # name, and the blackout windows in which only cancels go out.
    checklist_max_age_us: int = 90 * 86_400_000_000
    livegate_version: str = "0"
    blackouts: tuple[Blackout, ...] = ()
    # The guarded reopen: a second operator confirms within the window (refused off while live).
    reopen_second_operator: bool = True
    reopen_window_us: int = 300_000_000
    # A REDUCING scope judges a write against the broker's position no older than this.
    reducing_position_max_age_us: int = 5_000_000
