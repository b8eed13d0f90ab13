"""Vault layout and credential loading against a real OpenBao dev server."""

from __future__ import annotations

import time
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from livegate_common.vault_layout import LAYOUT, LIVE_SECRET_PATH, provision, wrapped_secret_id
from tests.support.logs import captured_lines
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


def test_renewal_when_token_ttl_is_short_then_the_writers_loop_keeps_the_token_alive(
    tmp_path: Path,
) -> None:
    """The writer's own renewal loop, not a renew by hand: past several TTLs the token lives."""
    ttl_s = 2
    with dev_vault() as own, captured_lines() as lines:
        provision(own.client())
        # The document provisions again (role ids): the short TTL goes on after it, before login.
        doc = writer_document(Path("/pki"), own, Role.R, tmp_path, gateway_port=1)
        layout = LAYOUT[Role.R]
        own.client().auth.approle.create_or_update_approle(
            role_name=layout.approle_name,
            token_policies=[layout.policy_name],
            token_ttl=f"{ttl_s}s",
            token_max_ttl="120s",
            secret_id_num_uses=1,
            secret_id_ttl="1h",
        )
        session = load_credentials(make_config(doc, tmp_path).vault)
        try:
            assert session.client.auth.token.lookup_self()["data"]["ttl"] <= ttl_s
            session.start_renewal()
            time.sleep(3 * ttl_s)  # without renewals the token would have died twice over
            data = session.client.auth.token.lookup_self()["data"]  # 403 if it had expired
        finally:
            session.stop()
    # The lookup above answered (a dead token gets 403), and the token was renewed after the
    # moment its first TTL ran out.
    assert data["last_renewal_time"] > data["creation_time"] + ttl_s
    assert data["policies"] == ["default", "livegate-writer-r"]
    assert sum(1 for line in lines if "vault token renewed" in line) >= 2
