"""Writer configs per role over a provisioned OpenBao: the broker secret and a wrapped secret-id."""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

from livegate_common.devconfig import tls_section, writer_principals
from livegate_common.pki import spiffe_id
from livegate_common.vault_layout import provision, wrapped_secret_id, write_broker_secret
from tests.support.vault import DevVault
from writer_service import config as writer_config
from writer_service.__main__ import main as writer_main
from writer_service.config import Role, WriterConfig

ACCOUNT = "U1234567"
# Made per test run, never committed: the key of the account hash in the writer's logs.
TEST_ACCOUNT_HASH_KEY = secrets.token_hex(16)


def role_ids(vault: DevVault) -> dict[Role, str]:
    return {p.role: p.role_id for p in provision(vault.client())}


WRITER_TRIGGERS = ("unexplained_order", "session_lost", "probe_mismatch", "broker_rejections")


def writer_document(
    pki: Path,
    vault: DevVault,
    role: Role,
    workdir: Path,
    *,
    gateway_port: int,
    accounts: str = ACCOUNT,
    client_id: int = 11,
    peer_timeout_s: float = 60.0,
    vault_addr: str | None = None,
    request_timeout_s: float = 5.0,
    account_hash_key: str = TEST_ACCOUNT_HASH_KEY,
) -> dict[str, Any]:
    """Store ROLE's broker secret, issue a wrapped secret id, and return a config document."""
    client = vault.client()
    write_broker_secret(
        client,
        role,
        {
            "gateway_host": "127.0.0.1",
            "gateway_port": gateway_port,
            "client_id": client_id,
            "accounts": accounts,
            "account_hash_key": account_hash_key,
        },
    )
    wrap_file = workdir / f"secret-id-{role.value}.wrap"
    wrap_file.write_text(wrapped_secret_id(client, role), encoding="utf-8")
    principals = writer_principals()
    # A mapped identity without writer.call, to prove the servicer checks the scope itself.
    principals["operator"] = {"sans": [spiffe_id("operator")], "scopes": []}
    return {
        "role": role.value,
        "server": {"listen": "127.0.0.1:0", "tls": tls_section(pki, "writer")},
        "principals": principals,
        "vault": {
            "addr": vault_addr or vault.addr,
            "role_id": role_ids(vault)[role],
            "wrapped_secret_id_file": str(wrap_file),
            "secret_path": f"livegate/{role.value}/broker",
        },
        "broker": {
            "connect_timeout_s": 5,
            "probe_timeout_s": 3,
            "request_timeout_s": request_timeout_s,
        },
        "kill_switch": {"policy_peer_timeout_s": peer_timeout_s},
        "logging": {"level": "INFO"},
        # Off here: other tests place orders by hand, script rejections, drop the session and
        # turn the gateway read-only on purpose, and go on writing after it;
        # tests/e2e/test_auto_stops.py turns each on (the shipped default).
        "auto_stops": {name: {"enabled": False} for name in WRITER_TRIGGERS},
    }


def make_config(doc: dict[str, Any], workdir: Path) -> WriterConfig:
    return writer_config.from_document(doc, workdir)


def main_with(doc: dict[str, Any], workdir: Path) -> int:
    """Run the writer's main() on DOC (written to WORKDIR) in this process; its exit code."""
    path = workdir / "writer.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return writer_main(["--config", str(path)])
    finally:
        root.handlers[:] = handlers  # main() installs its JSON handler; give pytest its own back
        root.setLevel(level)
