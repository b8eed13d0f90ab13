"""The audit keyring in Vault (OpenBao): only the policy's own AppRole of its own role reads it;
the policy starts from it (single-use wrapped secret id); rotation adds a key, keeps the old."""

from __future__ import annotations

import argparse
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from livegate_api.v1 import policy_pb2
from livegate_cli import vault_cmd
from livegate_common.vault_client import VaultStartError
from livegate_common.vault_layout import (
    LAYOUT,
    POLICY_LAYOUT,
    ensure_audit_keyring,
    provision,
    read_audit_keyring,
    wrapped_secret_id,
    write_broker_secret,
)
from policy_service import config as policy_config
from policy_service.domain.audit_keys import Keyring, new_keyring
from policy_service.server import build_service
from tests.deploy import vault_api
from tests.policy.fake_writer import RunningFakeWriter
from tests.policy.harness import built, policy_doc
from tests.support.vault import DevVault, dev_vault
from writer_service.config import Role

IDENTITIES = [("writer", LAYOUT), ("policy", POLICY_LAYOUT)]


@pytest.fixture(scope="module")
def vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        client = started.client()
        for _, table in IDENTITIES:
            provision(client, table=table)
        for role in Role:
            write_broker_secret(
                client,
                role,
                {
                    "gateway_host": "h",
                    "gateway_port": 1,
                    "client_id": 1,
                    "accounts": "DU1",
                    "account_hash_key": secrets.token_hex(16),
                },
            )
            ensure_audit_keyring(
                client, role, new_keyring(f"{role.value.lower()}-k1").to_document()
            )
        yield started


PATHS = [table[role].secret_path for _, table in IDENTITIES for role in Role]
APPROLES = [(table[role].approle_name, table[role].secret_path) for _, table in IDENTITIES
            for role in Role]  # fmt: skip


@pytest.mark.parametrize(("approle", "own"), APPROLES, ids=[a for a, _ in APPROLES])
def test_vault_when_each_identity_reads_every_path_then_only_its_own_is_not_403(
    vault: DevVault, approle: str, own: str
) -> None:
    token = vault_api.login_as(vault.addr, vault.root_token, approle)
    answers = {
        path: vault_api.call(vault.addr, "GET", f"secret/data/{path}", token).status_code
        for path in PATHS
    }
    assert answers == {path: 200 if path == own else 403 for path in PATHS}
    write = vault_api.call(vault.addr, "POST", f"secret/data/{own}", token, {"data": {"x": "1"}})
    assert write.status_code == 403  # nor may it write its own


def _vault_doc(vault: DevVault, tmp: Path, role: Role) -> dict[str, object]:
    client = vault.client()
    wrapped = tmp / f"{role.value}.wrapped"
    wrapped.write_text(wrapped_secret_id(client, role, table=POLICY_LAYOUT))
    role_id = client.auth.approle.read_role_id(POLICY_LAYOUT[role].approle_name)
    return {
        "addr": vault.addr,
        "role_id": role_id["data"]["role_id"],
        "wrapped_secret_id_file": str(wrapped),
        "secret_path": POLICY_LAYOUT[role].secret_path,
    }


def test_start_when_keyring_is_in_vault_then_events_are_linked_under_its_key(
    vault: DevVault, dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter
) -> None:
    source = {"audit.keyring_file": "", "audit.vault": _vault_doc(vault, tmp_path, Role.W)}
    url = f"sqlite:///{tmp_path / 'db' / 'p.db'}"
    with built(dev_pki, tmp_path / "p", writer, url, overrides=source) as h:
        h.open_switch()
        res = h.approver.VerifyAudit(policy_pb2.VerifyAuditRequest())
        assert list(res.key_ids) == ["w-k1"] and res.ok, res
    # The wrapped secret id was single-use: the same config cannot start a second time.
    doc = policy_doc(dev_pki, tmp_path / "q", writer.port, url)
    doc["audit"].pop("keyring_file")
    doc["audit"]["vault"] = source["audit.vault"]
    with pytest.raises(VaultStartError, match="unwrap"):
        build_service(policy_config.from_document(doc, tmp_path / "q"))


def test_start_when_given_another_roles_keyring_path_then_refused_403(
    vault: DevVault, dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter
) -> None:
    doc = policy_doc(dev_pki, tmp_path, writer.port, f"sqlite:///{tmp_path / 'p.db'}")
    vault_doc = _vault_doc(vault, tmp_path, Role.R)
    vault_doc["secret_path"] = POLICY_LAYOUT[Role.W].secret_path  # R's AppRole, W's keyring
    doc["audit"].pop("keyring_file")
    doc["audit"]["vault"] = vault_doc
    with pytest.raises(VaultStartError, match="403"):
        build_service(policy_config.from_document(doc, tmp_path))


def test_rotate_when_run_then_a_new_current_key_and_the_old_ones_kept(
    vault: DevVault, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = Keyring.from_document(read_audit_keyring(vault.client(), Role.ABH))
    monkeypatch.setenv("LG_TEST_BAO_TOKEN", vault.root_token)
    parser = argparse.ArgumentParser(prog="livegate")
    vault_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["vault", "rotate-audit-key", "--addr", vault.addr, "--token-env", "LG_TEST_BAO_TOKEN",
         "--role", "ABH"]
    )  # fmt: skip
    assert args.handler(args) == 0
    printed = json.loads(capsys.readouterr().out)
    after = Keyring.from_document(read_audit_keyring(vault.client(), Role.ABH))
    assert (printed["current"], after.current_id) == ("k2", "k2")
    assert after.keys[before.current_id] == before.current  # the retired key, unchanged
    assert before.current.hex() not in json.dumps(printed)  # no key is ever printed
