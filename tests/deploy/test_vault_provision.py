"""vault_provision.yml against a real OpenBao dev server: only W's AppRole reads the live path."""

from __future__ import annotations

import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from livegate_common.vault_layout import LAYOUT
from tests.deploy import vault_api
from tests.deploy.ansible_run import (
    PlayResult,
    make_inventory,
    make_role_fixture,
    run_playbook,
    write_yaml,
)
from tests.support.vault import DevVault, dev_vault
from writer_service.config import Role

LIVE_PATH = "secret/data/livegate/W/broker"
HASH_KEY = secrets.token_hex(16)
BROKER_SECRETS = {
    "W": {
        "gateway_host": "127.0.0.1",
        "gateway_port": 4002,
        "client_id": 7,
        "accounts": "U1234567",
        "account_hash_key": HASH_KEY,
    },
    "R": {
        "gateway_host": "127.0.0.1",
        "gateway_port": 4002,
        "client_id": 8,
        "accounts": "DU111",
        "account_hash_key": HASH_KEY,
    },
    "ABH": {
        "gateway_host": "127.0.0.1",
        "gateway_port": 4002,
        "client_id": 9,
        "accounts": "DU222",
        "account_hash_key": HASH_KEY,
    },
}


@dataclass(frozen=True)
class Provisioned:
    vault: DevVault
    tmp: Path
    refused: PlayResult
    refused_left_policy: int
    first: PlayResult
    second: PlayResult


def _provision_vars(tmp: Path, vault: DevVault, name: str, secrets: object) -> Path:
    # The admin token goes in a file (-e @file), never on a command line.
    path = tmp / f"{name}.yml"
    write_yaml(
        path,
        {
            "livegate_vault_provision_addr": vault.addr,
            "livegate_vault_provision_token": vault.root_token,
            "livegate_vault_provision_broker_secrets": secrets,
            "livegate_vault_provision_role_id_dir": str(tmp / "role-ids"),
        },
    )
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provisioned]:
    tmp = tmp_path_factory.mktemp("vault-provision")
    (tmp / "role-ids").mkdir()
    inventory = tmp / "localhost.yml"
    write_yaml(inventory, {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}})
    with dev_vault() as vault:
        bad = dict(BROKER_SECRETS, R={**BROKER_SECRETS["R"], "accounts": "DU111,U7654321"})
        refused = run_playbook(
            tmp,
            "vault_provision.yml",
            inventory,
            extra_vars_files=[_provision_vars(tmp, vault, "refused", bad)],
            log_name="refused",
        )
        refused_left_policy = vault_api.call(
            vault.addr, "GET", "sys/policies/acl/livegate-writer-r", vault.root_token
        ).status_code
        good = _provision_vars(tmp, vault, "good", BROKER_SECRETS)
        first = run_playbook(
            tmp, "vault_provision.yml", inventory, extra_vars_files=[good], log_name="first"
        )
        second = run_playbook(
            tmp, "vault_provision.yml", inventory, extra_vars_files=[good], log_name="second"
        )
        yield Provisioned(vault, tmp, refused, refused_left_policy, first, second)


def test_provision_when_run_then_play_succeeds_and_is_repeatable(
    provisioned: Provisioned,
) -> None:
    assert provisioned.first.returncode == 0, provisioned.first.output[-4000:]
    assert provisioned.second.returncode == 0, provisioned.second.output[-4000:]
    assert provisioned.vault.root_token not in provisioned.first.output


@pytest.mark.parametrize("role", ["R", "ABH"])
def test_provision_when_non_w_approle_reads_live_path_then_403(
    provisioned: Provisioned, role: str
) -> None:
    vault = provisioned.vault
    token = vault_api.login_as(vault.addr, vault.root_token, f"livegate-writer-{role.lower()}")
    assert vault_api.call(vault.addr, "GET", LIVE_PATH, token).status_code == 403


def test_provision_when_w_approle_reads_live_path_then_gets_the_broker_secret(
    provisioned: Provisioned,
) -> None:
    vault = provisioned.vault
    token = vault_api.login_as(vault.addr, vault.root_token, "livegate-writer-w")
    reply = vault_api.call(vault.addr, "GET", LIVE_PATH, token)
    assert reply.status_code == 200
    assert reply.json()["data"]["data"] == {
        "gateway_host": "127.0.0.1",
        "gateway_port": "4002",
        "client_id": "7",
        "accounts": "U1234567",
        "account_hash_key": HASH_KEY,
    }


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_provision_when_role_logs_in_then_reads_own_path_and_no_other(
    provisioned: Provisioned, role: str
) -> None:
    vault = provisioned.vault
    token = vault_api.login_as(vault.addr, vault.root_token, f"livegate-writer-{role.lower()}")
    for other in ("W", "R", "ABH"):
        reply = vault_api.call(vault.addr, "GET", f"secret/data/livegate/{other}/broker", token)
        assert reply.status_code == (200 if other == role else 403), other
    # Nor may it write its own path.
    write = vault_api.call(
        vault.addr, "POST", f"secret/data/livegate/{role}/broker", token, {"data": {"x": "1"}}
    )
    assert write.status_code == 403


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_provision_when_run_then_layout_matches_writer_vault_layout(
    provisioned: Provisioned, role: str
) -> None:
    vault = provisioned.vault
    layout = LAYOUT[Role(role)]
    policy = vault_api.call(
        vault.addr, "GET", f"sys/policies/acl/{layout.policy_name}", vault.root_token
    )
    assert policy.status_code == 200
    assert policy.json()["data"]["policy"].strip() == layout.policy_hcl().strip()
    approle = vault_api.call(
        vault.addr, "GET", f"auth/approle/role/{layout.approle_name}", vault.root_token
    )
    data = approle.json()["data"]
    assert data["token_policies"] == [layout.policy_name]
    assert data["secret_id_num_uses"] == 1


def test_provision_when_deployer_token_issues_then_only_for_its_own_role(
    provisioned: Provisioned,
) -> None:
    vault = provisioned.vault
    deployer = vault_api.child_token(vault.addr, vault.root_token, "livegate-deployer-r")
    own = vault_api.wrapped_secret_id(vault.addr, deployer, "livegate-writer-r")
    assert own.status_code == 200
    assert "wrap_info" in own.json()
    assert vault_api.wrapped_secret_id(vault.addr, deployer, "livegate-writer-w").status_code == 403
    assert vault_api.call(vault.addr, "GET", LIVE_PATH, deployer).status_code == 403


def test_provision_when_role_id_dir_given_then_private_files_hold_the_role_ids(
    provisioned: Provisioned,
) -> None:
    vault = provisioned.vault
    for role in ("w", "r", "abh"):
        path = provisioned.tmp / "role-ids" / f"{role}.role-id"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        expected = vault_api.role_id(vault.addr, vault.root_token, f"livegate-writer-{role}")
        assert path.read_text(encoding="utf-8").strip() == expected


def test_provision_when_non_w_secret_holds_live_account_then_refused_before_any_write(
    provisioned: Provisioned,
) -> None:
    assert provisioned.refused.returncode != 0
    assert "LIVE_ACCOUNT_ON_NON_W_HOST" in provisioned.refused.output
    assert provisioned.refused_left_policy == 404


def test_deploy_when_issuer_token_given_then_writer_gets_a_wrapped_secret_id_for_its_role(
    provisioned: Provisioned, dev_pki: Path
) -> None:
    vault = provisioned.vault
    tmp = provisioned.tmp / "issue"
    tmp.mkdir()
    fixture = make_role_fixture(tmp, "R")
    issuer = vault_api.child_token(vault.addr, vault.root_token, "livegate-deployer-r")
    r_role_id = vault_api.role_id(vault.addr, vault.root_token, "livegate-writer-r")
    inventory = make_inventory(
        tmp,
        dev_pki,
        {"R": fixture},
        vault_vars={
            "R": {
                "livegate_vault_client_role_id": r_role_id,
                "livegate_vault_client_wrapped_secret_id": "",
                "livegate_vault_client_issuer_token": issuer,
            }
        },
        common_vars={"livegate_vault_client_addr": vault.addr},
    )
    result = run_playbook(tmp, "site.yml", inventory, vault_ids=[fixture.vault_id])
    assert result.returncode == 0, result.output[-4000:]
    assert issuer not in result.output
    wrapped = (tmp / "root/r1/etc/livegate/writer/secret-id.wrapped").read_text().strip()
    # What the writer does at start: unwrap once, log in, read its own path, not the live one.
    token = vault_api.login(vault.addr, r_role_id, vault_api.unwrap(vault.addr, wrapped))
    own = vault_api.call(vault.addr, "GET", "secret/data/livegate/R/broker", token)
    assert own.status_code == 200
    assert vault_api.call(vault.addr, "GET", LIVE_PATH, token).status_code == 403
    # Single use: a second unwrap of the same token is refused.
    again = vault_api.call(vault.addr, "POST", "sys/wrapping/unwrap", wrapped)
    assert again.status_code >= 400
