"""A policy config for the local dev stack: live trading on for the simulated account."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import yaml

from livegate_common.devconfig import DEV_BROKER_TIMEOUT_S, policy_principals, tls_section
from livegate_common.pki import spiffe_id
from policy_service.audit_keysource import ensure_dev_keyring

DEV_RISK_POLICY_ID = "dev-risk-policy"


def dev_risk_policy() -> dict[str, Any]:
    return {
        "id": DEV_RISK_POLICY_ID,
        # 2: allowed_symbols names the symbols (an empty list allows none since issue 19).
        "version": 2,
        "limits": {
            "max_quantity": "1000",
            "max_notional_per_order": "100000",
            "price_collar_bps": "500",
            "max_reference_age_s": "60",
            "allowed_sec_types": ["STOCK", "ETF"],
            "allowed_symbols": ["AAPL", "MSFT", "SPY"],
            "max_orders_per_minute": 600,
            "max_open_orders": 500,
            "max_daily_notional": "10000000",
        },
    }


def account_hash_key(data_dir: Path) -> str:
    """The dev stack's account-hash key in DATA_DIR (made once): the policy's audit key, and
    the same value in the writer's broker secret, so both services' lines join."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "account-hash.key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return key_file.read_text(encoding="utf-8").strip()


def dev_config(
    pki_dir: Path, data_dir: Path, writer_port: int, account: str, listen: str = "127.0.0.1:50051"
) -> dict[str, Any]:
    """The config document; also writes the risk policy, the account-hash key and the audit
    keyring (0600, refused if wider) into DATA_DIR."""
    data_dir.mkdir(parents=True, exist_ok=True)
    policy_file = data_dir / "risk-policy.yaml"
    policy_file.write_text(yaml.safe_dump(dev_risk_policy(), sort_keys=False), encoding="utf-8")
    account_hash_key(data_dir)
    key_file = data_dir / "account-hash.key"
    return {
        # The dev stack plays the live host against the simulator's live (U...) account.
        "instance_role": "W",
        "server": {"listen": listen, "tls": tls_section(pki_dir, "policy")},
        "principals": policy_principals(),
        "logging": {"level": "INFO"},
        "live_trading": {
            "enabled": True,
            "allowed_accounts": [account],
            "risk_policy_id": DEV_RISK_POLICY_ID,
            "paper_to_live_checklist_acknowledged": True,
        },
        "safety": {"live_trading_enabled": True},
        "audit": {
            "retention_days": 2555,
            "export_before_purge": True,
            "export_dir": str(data_dir / "audit-exports"),
            "account_hash_key_file": str(key_file),
            # Dev only: on a deployed host the keyring comes from Vault (audit.vault).
            "keyring_file": str(ensure_dev_keyring(data_dir / "audit-keyring.json")),
            "anchor_file": str(data_dir / "audit-anchors.jsonl"),
        },
        "writer": {
            "address": f"127.0.0.1:{writer_port}",
            "server_name": "localhost",
            "expected_san": spiffe_id("writer"),
            "tls": tls_section(pki_dir, "policy"),
            "broker_timeout_s": DEV_BROKER_TIMEOUT_S,
            "sync_interval_s": 2,
            "open_orders_check_s": 5,
        },
        "risk": {"policy_file": str(policy_file)},
        "storage": {"data_dir": str(data_dir), "url": f"sqlite:///{data_dir / 'policy.db'}"},
        "previews": {"ttl_s": 300},
        "approvals": {"ttl_s": 300, "four_eyes": True},
    }
