"""Vault layout and credential loading against a real OpenBao dev server."""

from __future__ import annotations

from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from livegate_common.vault_layout import LIVE_SECRET_PATH, provision, wrapped_secret_id
from tests.support.net import free_port
from tests.support.vault import DevVault, dev_vault
from tests.support.writers import make_config, role_ids, writer_document
from writer_service.config import Role
from writer_service.vault_credentials import VaultStartError, load_credentials


def _login(vault: DevVault, role: Role) -> hvac.Client:
    secret_id = vault.client(wrapped_secret_id(vault.client(), role)).sys.unwrap()["data"][
        "secret_id"
    ]
    client = hvac.Client(url=vault.addr, timeout=5)
    client.auth.approle.login(role_id=role_ids(vault)[role], secret_id=secret_id)
    return client


def _seed_all(vault: DevVault, tmp_path: Path) -> None:
    for role in Role:
        writer_document(Path("/nonexistent"), vault, role, tmp_path, gateway_port=4001)


@pytest.mark.parametrize("role", [Role.R, Role.ABH])
def test_read_live_secret_when_approle_is_r_or_abh_then_403(
    vault: DevVault, tmp_path: Path, role: Role
) -> None:
    _seed_all(vault, tmp_path)
    client = _login(vault, role)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(
            path=LIVE_SECRET_PATH, mount_point="secret", raise_on_deleted_version=True
        )
    own = client.secrets.kv.v2.read_secret_version(
        path=f"livegate/{role.value}/broker", mount_point="secret", raise_on_deleted_version=True
    )
    assert own["data"]["data"]["gateway_port"] == "4001"


def test_read_live_secret_when_approle_is_w_then_allowed(vault: DevVault, tmp_path: Path) -> None:
    _seed_all(vault, tmp_path)
    client = _login(vault, Role.W)
    live = client.secrets.kv.v2.read_secret_version(
        path=LIVE_SECRET_PATH, mount_point="secret", raise_on_deleted_version=True
    )
    assert live["data"]["data"]["accounts"] == "U1234567"
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(
            path="livegate/R/broker", mount_point="secret", raise_on_deleted_version=True
        )


def test_provision_when_run_twice_then_role_ids_are_stable(vault: DevVault) -> None:
    first = {p.role: p.role_id for p in provision(vault.client())}
    second = {p.role: p.role_id for p in provision(vault.client())}
    assert first == second
    assert len(set(first.values())) == 3


def test_load_credentials_when_wrapped_secret_id_valid_then_reads_broker_secret(
    vault: DevVault, tmp_path: Path
) -> None:
    doc = writer_document(Path("/pki"), vault, Role.W, tmp_path, gateway_port=4002)
    session = load_credentials(make_config(doc, tmp_path).vault)
    try:
        assert session.secret.gateway_port == 4002
        assert session.secret.accounts == ("U1234567",)
        assert session.client.is_authenticated()
    finally:
        session.stop()


def test_load_credentials_when_wrapping_token_already_used_then_refused(
    vault: DevVault, tmp_path: Path
) -> None:
    doc = writer_document(Path("/pki"), vault, Role.W, tmp_path, gateway_port=4002)
    config = make_config(doc, tmp_path).vault
    load_credentials(config).stop()
    with pytest.raises(VaultStartError, match="already used"):
        load_credentials(config)


def test_load_credentials_when_vault_down_then_message_says_unreachable(
    vault: DevVault, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    doc = writer_document(Path("/pki"), vault, Role.W, tmp_path, gateway_port=1, vault_addr=dead)
    with pytest.raises(VaultStartError, match="unreachable"):
        load_credentials(make_config(doc, tmp_path).vault)


def test_load_credentials_when_vault_sealed_then_message_says_sealed(tmp_path: Path) -> None:
    with dev_vault() as own:
        provision(own.client())
        doc = writer_document(Path("/pki"), own, Role.W, tmp_path, gateway_port=1)
        own.seal()
        with pytest.raises(VaultStartError, match="sealed"):
            load_credentials(make_config(doc, tmp_path).vault)


def test_renewal_when_running_then_token_ttl_is_extended(vault: DevVault, tmp_path: Path) -> None:
    doc = writer_document(Path("/pki"), vault, Role.R, tmp_path, gateway_port=1)
    session = load_credentials(make_config(doc, tmp_path).vault)
    try:
        before = session.client.auth.token.lookup_self()["data"]["ttl"]
        session.client.auth.token.renew_self()
        after = session.client.auth.token.lookup_self()["data"]
        assert after["ttl"] >= before - 1
        assert after["policies"] == ["default", "livegate-writer-r"]
    finally:
        session.stop()
