"""vault_provision.yml against a real OpenBao dev server: only W's AppRole reads the live path."""

from __future__ import annotations

import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from livegate_common.vault_layout import (
    GATEWAY_LAYOUT,
    LAYOUT,
    POLICY_LAYOUT,
    RoleLayout,
    read_audit_keyring,
)
from policy_service.domain.audit_keys import Keyring
from tests.deploy import vault_api
from tests.deploy.ansible_run import (
    PlayResult,
    finish,
    make_inventory,
    make_role_fixture,
    run_playbook,
    start_playbook,
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
IB_LOGINS = {
    "W": {"login_id": "w-trader", "password": "w-pass#1", "trading_mode": "live"},
    "R": {"login_id": "r-reader", "password": "r-pass#1", "trading_mode": "paper"},
    "ABH": {"login_id": "abh-paper", "password": "abh-pass#1", "trading_mode": "paper"},
}
# Each identity's secret: the writer's broker secret, the launcher's IB login, the policy's keyring.
SECRETS = {"writer": "broker", "gateway": "ib_login", "policy": "audit"}
PATHS = [f"secret/data/livegate/{r}/{s}" for s in SECRETS.values() for r in ("W", "R", "ABH")]
# Inputs the guard refuses before anything reaches Vault, each with its reason.
REFUSALS = {
    "live_login_for_r": (
        {"ib_logins": dict(IB_LOGINS, R={**IB_LOGINS["R"], "trading_mode": "live"})},
        "LIVE_LOGIN_ON_NON_W_HOST",
    ),
    "remote_gateway": (
        {"broker": dict(BROKER_SECRETS, W={**BROKER_SECRETS["W"], "gateway_host": "10.0.0.7"})},
        "BROKER_GATEWAY_NOT_LOOPBACK",
    ),
}


@dataclass(frozen=True)
class Provisioned:
    vault: DevVault
    tmp: Path
    inventory: Path
    good: Path
    first: PlayResult
    # Each role's audit keyring after the first run.
    keyrings: dict[str, object]


def _provision_vars(
    tmp: Path, vault: DevVault, name: str, secrets: object, ib_logins: object = None
) -> Path:
    # The admin token goes in a file (-e @file), never on a command line.
    path = tmp / f"{name}.yml"
    write_yaml(
        path,
        {
            "livegate_vault_provision_addr": vault.addr,
            "livegate_vault_provision_token": vault.root_token,
            "livegate_vault_provision_broker_secrets": secrets,
            "livegate_vault_provision_ib_logins": IB_LOGINS if ib_logins is None else ib_logins,
            "livegate_vault_provision_role_id_dir": str(tmp / "role-ids"),
        },
    )
    path.chmod(0o600)
    return path


def _localhost(tmp: Path) -> Path:
    inventory = tmp / "localhost.yml"
    write_yaml(inventory, {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}})
    return inventory


# One run in the module fixture; the tests that need a second run (or a refused one) make it
# themselves, so each stays within its own time budget.
@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provisioned]:
    tmp = tmp_path_factory.mktemp("vault-provision")
    (tmp / "role-ids").mkdir()
    inventory = _localhost(tmp)
    with dev_vault() as vault:
        good = _provision_vars(tmp, vault, "good", BROKER_SECRETS, IB_LOGINS)
        first = run_playbook(
            tmp, "vault_provision.yml", inventory, extra_vars_files=[good], log_name="first"
        )
        yield Provisioned(vault, tmp, inventory, good, first, _keyrings(vault))


def _keyrings(vault: DevVault) -> dict[str, object]:
    return {
        role: read_audit_keyring(vault.client(), Role(role)) if _has_keyring(vault, role) else None
        for role in ("W", "R", "ABH")
    }


def _has_keyring(vault: DevVault, role: str) -> bool:
    path = f"secret/data/livegate/{role}/audit"
    return vault_api.call(vault.addr, "GET", path, vault.root_token).status_code == 200


def test_provision_when_run_twice_then_play_succeeds_and_each_keyring_is_kept(
    provisioned: Provisioned,
) -> None:
    assert provisioned.first.returncode == 0, provisioned.first.output[-4000:]
    assert provisioned.vault.root_token not in provisioned.first.output
    second = run_playbook(
        provisioned.tmp,
        "vault_provision.yml",
        provisioned.inventory,
        extra_vars_files=[provisioned.good],
        log_name="second",
    )
    assert second.returncode == 0, second.output[-4000:]
    first_keyrings = provisioned.keyrings
    assert all(first_keyrings[role] for role in ("W", "R", "ABH"))
    assert _keyrings(provisioned.vault) == first_keyrings  # made once, never replaced
    keys = [Keyring.from_document(k).current for k in first_keyrings.values()]  # type: ignore[arg-type]
    assert len(set(keys)) == 3  # one key per role


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


@pytest.mark.parametrize("identity", sorted(SECRETS))
@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_provision_when_identity_logs_in_then_reads_own_path_and_no_other(
    provisioned: Provisioned, role: str, identity: str
) -> None:
    vault = provisioned.vault
    approle = f"livegate-{identity}-{role.lower()}"
    own = f"secret/data/livegate/{role}/{SECRETS[identity]}"
    token = vault_api.login_as(vault.addr, vault.root_token, approle)
    codes = {path: vault_api.call(vault.addr, "GET", path, token).status_code for path in PATHS}
    assert codes == {path: 200 if path == own else 403 for path in PATHS}, approle
    # Nor may it write its own path.
    write = vault_api.call(vault.addr, "POST", own, token, {"data": {"x": "1"}})
    assert write.status_code == 403


def test_provision_when_w_launcher_reads_its_login_then_gets_what_was_provisioned(
    provisioned: Provisioned,
) -> None:
    vault = provisioned.vault
    token = vault_api.login_as(vault.addr, vault.root_token, "livegate-gateway-w")
    reply = vault_api.call(vault.addr, "GET", "secret/data/livegate/W/ib_login", token)
    assert reply.status_code == 200
    assert reply.json()["data"]["data"] == IB_LOGINS["W"]
    assert IB_LOGINS["W"]["password"] not in provisioned.first.output


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
@pytest.mark.parametrize(
    "table", [LAYOUT, GATEWAY_LAYOUT, POLICY_LAYOUT], ids=["writer", "gateway", "policy"]
)
def test_provision_when_run_then_layout_matches_vault_layout(
    provisioned: Provisioned, role: str, table: Mapping[Role, RoleLayout]
) -> None:
    vault = provisioned.vault
    layout = table[Role(role)]
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


IDENTITY_PATHS = [p.removeprefix("secret/data/") for p in PATHS]


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_provision_when_policy_approle_logs_in_then_reads_its_keyring_and_no_other_path(
    provisioned: Provisioned, role: str
) -> None:
    vault = provisioned.vault
    token = vault_api.login_as(vault.addr, vault.root_token, f"livegate-policy-{role.lower()}")
    answers = {
        path: vault_api.call(vault.addr, "GET", f"secret/data/{path}", token).status_code
        for path in IDENTITY_PATHS
    }
    own = f"livegate/{role}/audit"
    assert answers == {path: 200 if path == own else 403 for path in IDENTITY_PATHS}
    keyring = vault_api.call(vault.addr, "GET", f"secret/data/{own}", token).json()["data"]
    assert Keyring.from_document(keyring["data"]).current_id == "k1"


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_provision_when_writer_approle_reads_any_audit_keyring_then_403(
    provisioned: Provisioned, role: str
) -> None:
    vault = provisioned.vault
    token = vault_api.login_as(vault.addr, vault.root_token, f"livegate-writer-{role.lower()}")
    for other in ("W", "R", "ABH"):
        path = f"secret/data/livegate/{other}/audit"
        assert vault_api.call(vault.addr, "GET", path, token).status_code == 403


def test_provision_when_deployer_token_issues_then_only_for_its_own_role(
    provisioned: Provisioned,
) -> None:
    vault = provisioned.vault
    deployer = vault_api.child_token(vault.addr, vault.root_token, "livegate-deployer-r")
    own = vault_api.wrapped_secret_id(vault.addr, deployer, "livegate-writer-r")
    assert own.status_code == 200
    assert "wrap_info" in own.json()
    assert vault_api.wrapped_secret_id(vault.addr, deployer, "livegate-writer-w").status_code == 403
    assert vault_api.wrapped_secret_id(vault.addr, deployer, "livegate-policy-r").status_code == 200
    assert vault_api.wrapped_secret_id(vault.addr, deployer, "livegate-policy-w").status_code == 403
    assert vault_api.call(vault.addr, "GET", LIVE_PATH, deployer).status_code == 403
    # The same deployer issues for its role's gateway launcher, never for W's.
    launcher = vault_api.wrapped_secret_id(vault.addr, deployer, "livegate-gateway-r")
    assert launcher.status_code == 200 and "wrap_info" in launcher.json()
    w_launcher = vault_api.wrapped_secret_id(vault.addr, deployer, "livegate-gateway-w")
    assert w_launcher.status_code == 403


def test_provision_when_role_id_dir_given_then_private_files_hold_the_role_ids(
    provisioned: Provisioned,
) -> None:
    vault = provisioned.vault
    for role in ("w", "r", "abh"):
        for suffix, identity in (("", "writer"), (".gateway", "gateway"), (".policy", "policy")):
            path = provisioned.tmp / "role-ids" / f"{role}{suffix}.role-id"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            expected = vault_api.role_id(
                vault.addr, vault.root_token, f"livegate-{identity}-{role}"
            )
            assert path.read_text(encoding="utf-8").strip() == expected


def test_provision_when_non_w_secret_holds_live_account_then_refused_before_any_write(
    tmp_path: Path,
) -> None:
    with dev_vault() as vault:  # a Vault of its own: nothing provisioned before
        bad = dict(BROKER_SECRETS, R={**BROKER_SECRETS["R"], "accounts": "DU111,U7654321"})
        refused = run_playbook(
            tmp_path,
            "vault_provision.yml",
            _localhost(tmp_path),
            extra_vars_files=[_provision_vars(tmp_path, vault, "refused", bad)],
            log_name="refused",
        )
        left = vault_api.call(
            vault.addr, "GET", "sys/policies/acl/livegate-writer-r", vault.root_token
        ).status_code
    assert refused.returncode != 0
    assert "LIVE_ACCOUNT_ON_NON_W_HOST" in refused.output
    assert left == 404


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
                "livegate_vault_client_policy_role_id": vault_api.role_id(
                    vault.addr, vault.root_token, "livegate-policy-r"
                ),
                "livegate_vault_client_policy_wrapped_secret_id": "",
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
    # The policy service got its own: it reads R's audit keyring and nothing of W's.
    policy_wrapped = (tmp / "root/r1/etc/livegate/policy/secret-id.wrapped").read_text().strip()
    policy_role_id = vault_api.role_id(vault.addr, vault.root_token, "livegate-policy-r")
    token = vault_api.login(
        vault.addr, policy_role_id, vault_api.unwrap(vault.addr, policy_wrapped)
    )
    own = vault_api.call(vault.addr, "GET", "secret/data/livegate/R/audit", token)
    assert own.status_code == 200
    assert (
        vault_api.call(vault.addr, "GET", "secret/data/livegate/W/audit", token).status_code == 403
    )


@pytest.fixture(scope="module")
def refusals(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[PlayResult, int]]]:
    """Each refused input played against a fresh OpenBao; what Vault holds afterwards."""
    tmp = tmp_path_factory.mktemp("vault-refusals")
    inventory = tmp / "localhost.yml"
    write_yaml(inventory, {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}})
    with dev_vault() as vault:
        started = {
            name: start_playbook(
                tmp,
                "vault_provision.yml",
                inventory,
                extra_vars_files=[
                    _provision_vars(
                        tmp, vault, name, case.get("broker", BROKER_SECRETS), case.get("ib_logins")
                    )
                ],
                log_name=name,
            )
            for name, (case, _) in REFUSALS.items()
        }
        results = {name: finish(*proc_log) for name, proc_log in started.items()}
        left = vault_api.call(
            vault.addr, "GET", "sys/policies/acl/livegate-gateway-r", vault.root_token
        ).status_code
        yield {name: (result, left) for name, result in results.items()}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_provision_when_input_would_put_a_live_login_or_remote_gateway_then_refused_before_write(
    refusals: dict[str, tuple[PlayResult, int]], name: str
) -> None:
    result, left_policy = refusals[name]
    assert result.returncode != 0
    assert REFUSALS[name][1] in result.output
    assert left_policy == 404
    assert "r-pass#1" not in result.output
