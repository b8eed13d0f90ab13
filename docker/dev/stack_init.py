"""Local stack only: dev PKI, audit keyring, Vault layout, broker secret, writer config; exit."""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path
from typing import Final

import hvac
import requests
import yaml

from livegate_common.pki import init_dev_pki, spiffe_id
from livegate_common.vault_layout import LAYOUT, provision, wrapped_secret_id, write_broker_secret
from policy_service.audit_keysource import ensure_dev_keyring
from writer_service.config import Role

VAULT_WAIT_S: Final = 60.0


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        raise SystemExit(f"stack-init: environment variable {name} is required")
    return value


def _wait_for_vault(client: hvac.Client) -> None:
    deadline = time.monotonic() + VAULT_WAIT_S
    while time.monotonic() < deadline:
        try:
            if client.sys.is_initialized() and not client.sys.is_sealed():
                return
        except requests.exceptions.RequestException:
            pass
        time.sleep(1)
    raise SystemExit(f"stack-init: Vault did not answer within {VAULT_WAIT_S}s")


def _ensure_pki(tls_dir: Path) -> None:
    # Kept across restarts of the stack: re-issuing would invalidate running peers' trust.
    if not (tls_dir / "ca.pem").exists():
        init_dev_pki(tls_dir)
    # The audit chain's keyring: a private file in this local stack (Vault on a deployed host).
    ensure_dev_keyring(tls_dir / "audit-keyring.json")
    hash_key = tls_dir / "account-hash.key"
    if not hash_key.exists():
        _write_private(hash_key, secrets.token_hex(32))


def _write_private(path: Path, text: str) -> None:
    # Whole or absent: the services wait for these files (dev/await.py) and must never read half.
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)


def main() -> int:
    role = Role(_env("LIVEGATE_STACK_ROLE", "W"))
    tls_dir = Path(_env("LIVEGATE_STACK_TLS_DIR", "/etc/livegate/tls"))
    writer_dir = Path(_env("LIVEGATE_STACK_WRITER_DIR", "/etc/livegate/writer"))
    vault_addr = _env("VAULT_ADDR")
    client = hvac.Client(url=vault_addr, token=_env("VAULT_TOKEN"), timeout=5)

    _ensure_pki(tls_dir)
    _wait_for_vault(client)
    provisioned = {p.role: p for p in provision(client)}
    write_broker_secret(
        client,
        role,
        {
            "gateway_host": _env("LIVEGATE_STACK_GATEWAY_HOST", "gateway-sim"),
            "gateway_port": _env("LIVEGATE_STACK_GATEWAY_PORT", "4002"),
            "client_id": _env("LIVEGATE_STACK_CLIENT_ID", "7"),
            "accounts": _env("LIVEGATE_STACK_ACCOUNTS", "U1234567"),
            # The policy's audit key (docker/config/policy.yaml): lines join across services.
            "account_hash_key": (tls_dir / "account-hash.key").read_text(encoding="utf-8").strip(),
        },
    )
    # Single-use: the writer unwraps it once at start; rerun this service before restarting it.
    # writer.yaml is written last: the writer waits for it, so it never starts on a stale id.
    _write_private(writer_dir / "secret-id.wrapped", wrapped_secret_id(client, role) + "\n")
    config = {
        "role": role.value,
        "server": {
            "listen": "0.0.0.0:50052",
            "tls": {
                "ca": str(tls_dir / "ca.pem"),
                "cert": str(tls_dir / "writer.pem"),
                "key": str(tls_dir / "writer.key"),
            },
        },
        "principals": {"policy": {"sans": [spiffe_id("policy")], "scopes": ["writer.call"]}},
        "vault": {
            "addr": vault_addr,
            "role_id": provisioned[role].role_id,
            "wrapped_secret_id_file": str(writer_dir / "secret-id.wrapped"),
            "kv_mount": "secret",
            "secret_path": LAYOUT[role].secret_path,
        },
        "broker": {"connect_timeout_s": 10, "probe_timeout_s": 10, "request_timeout_s": 10},
        "kill_switch": {"policy_peer_timeout_s": 10},
        # Automatic stops, as shipped (on): docs/live-runbook.md, section 1.
        "auto_stops": {
            "unexplained_order": {"enabled": True, "check_interval_s": 5},
            "session_lost": {"enabled": True, "after_s": 30},
            "probe_mismatch": {"enabled": True},
            "broker_rejections": {"enabled": True, "count": 5},
        },
        "logging": {"level": "INFO"},
    }
    _write_private(writer_dir / "writer.yaml", yaml.safe_dump(config, sort_keys=False))
    print(f"stack-init: role {role.value} ready; writer config in {writer_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
