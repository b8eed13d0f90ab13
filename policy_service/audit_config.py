"""The `audit.*` section of the policy config: retention, keys, anchors, checks, refusals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from livegate_common import config as cfg
from livegate_common.config import ConfigError
from livegate_common.vault_client import VaultConfig, vault_config
from policy_service.audit_keysource import FILE_KEY, VAULT_KEY, read_keyring_file
from policy_service.domain.audit_keys import Keyring

# Seven years: the record-keeping horizon live trading needs (seed requirement).
MIN_RETENTION_DAYS: Final = 2555


@dataclass(frozen=True)
class AuditConfig:
    retention_days: int
    export_before_purge: bool
    export_dir: Path
    account_hash_key: bytes = field(repr=False)
    # Exactly one of the two: the keyring read from a private file (dev, tests), or where the
    # policy's AppRole reads it in Vault (deployed hosts).
    keyring: Keyring | None
    vault: VaultConfig | None
    anchor_file: Path
    # The unanchored tail stays under this many events, or this many seconds.
    anchor_every_events: int = 100
    anchor_every_s: float = 5.0
    # Scheduled checks: from where the last good one ended, and in full.
    verify_interval_s: float = 60.0
    full_verify_interval_s: float = 86_400.0
    # Repeated refusals of one source and reason fold into one event per interval (0: none
    # fold, for tests that count events); a principal refused more than the limit in a minute
    # is answered RESOURCE_EXHAUSTED for the rest of it (0: never).
    refusal_interval_s: float = 10.0
    refusal_limit_per_min: int = 120


def _positive(doc: Mapping[str, Any], key: str, default: float, zero_ok: bool = False) -> float:
    value = cfg.get(doc, key, float, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"must be a number, got {value!r}")
    if value < 0 or (value == 0 and not zero_ok):
        raise ConfigError(key, f"must be {'>= 0' if zero_ok else '> 0'}, got {value!r}")
    return float(value)


def _account_hash_key(doc: Mapping[str, Any], base: Path) -> bytes:
    inline = cfg.get(doc, "audit.account_hash_key", str, "")
    if inline:
        key = inline.encode()
    else:
        key_file = cfg.get_path(doc, "audit.account_hash_key_file", base)
        if not key_file.is_file():
            raise ConfigError("audit.account_hash_key_file", f"{key_file} does not exist")
        key = key_file.read_bytes().strip()
    if len(key) < 16:
        raise ConfigError("audit.account_hash_key_file", "the key must be at least 16 bytes")
    return key


def _keys(doc: Mapping[str, Any], base: Path) -> tuple[Keyring | None, VaultConfig | None]:
    has_file = cfg.get(doc, FILE_KEY, str, "") != ""
    has_vault = bool(cfg.get(doc, VAULT_KEY, dict, {}))
    if has_file == has_vault:
        raise ConfigError(
            FILE_KEY,
            f"set exactly one of {FILE_KEY} (a private key file, dev) and {VAULT_KEY} "
            "(the policy's AppRole and keyring path in Vault)",
        )
    if has_file:
        return read_keyring_file(cfg.get_path(doc, FILE_KEY, base)), None
    return None, vault_config(doc, base, prefix=VAULT_KEY)


def audit_config(doc: Mapping[str, Any], base: Path, data_dir: Path) -> AuditConfig:
    retention = cfg.get(doc, "audit.retention_days", int, MIN_RETENTION_DAYS)
    if retention < MIN_RETENTION_DAYS:
        raise ConfigError(
            "audit.retention_days", f"must be >= {MIN_RETENTION_DAYS}, got {retention}"
        )
    if not cfg.get(doc, "audit.export_before_purge", bool, True):
        raise ConfigError(
            "audit.export_before_purge", "must be true: purge needs a verified export"
        )
    keyring, vault = _keys(doc, base)
    every_events = cfg.get(doc, "audit.anchor_every_events", int, 100)
    if every_events < 1:
        raise ConfigError("audit.anchor_every_events", f"must be >= 1, got {every_events}")
    limit = cfg.get(doc, "audit.refusal_limit_per_min", int, 120)
    if limit < 0:
        raise ConfigError("audit.refusal_limit_per_min", f"must be >= 0, got {limit}")
    default_anchor = str(data_dir / "audit-anchors.jsonl")
    return AuditConfig(
        retention_days=retention,
        export_before_purge=True,
        export_dir=cfg.get_path(doc, "audit.export_dir", base, str(data_dir / "audit-exports")),
        account_hash_key=_account_hash_key(doc, base),
        keyring=keyring,
        vault=vault,
        anchor_file=cfg.get_path(doc, "audit.anchor_file", base, default_anchor),
        anchor_every_events=every_events,
        anchor_every_s=_positive(doc, "audit.anchor_every_s", 5.0),
        verify_interval_s=_positive(doc, "audit.verify_interval_s", 60.0),
        full_verify_interval_s=_positive(doc, "audit.full_verify_interval_s", 86_400.0),
        refusal_interval_s=_positive(doc, "audit.refusal_interval_s", 10.0, zero_ok=True),
        refusal_limit_per_min=limit,
    )
