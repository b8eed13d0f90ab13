"""The guard: settings outside a host's role (live on R or ABH) fail the play before any write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.ansible_run import (
    ROLES,
    PlayResult,
    files_under,
    finish,
    make_inventory,
    make_role_fixture,
    start_playbook,
)


@dataclass(frozen=True)
class Case:
    role: str
    host_vars: Mapping[str, Any]
    reason: str
    # Deploy the whole inventory (all roles, all vault-ids), not just the refused host.
    all_hosts: bool = False


CASES: Mapping[str, Case] = {
    "r_live_trading": Case(
        "R", {"livegate_policy_live_trading_enabled": True}, "LIVE_TRADING_ON_NON_W_HOST", True
    ),
    "abh_safety_flag": Case(
        "ABH", {"livegate_policy_safety_live_trading_enabled": True}, "LIVE_TRADING_ON_NON_W_HOST"
    ),
    "r_live_approle": Case(
        "R", {"livegate_vault_client_approle": "livegate-writer-w"}, "LIVE_APPROLE_ON_NON_W_HOST"
    ),
    "r_live_secret_path": Case(
        "R",
        {"livegate_vault_client_secret_path": "livegate/W/broker"},
        "LIVE_SECRET_PATH_ON_NON_W_HOST",
    ),
    "abh_live_account": Case(
        "ABH", {"livegate_policy_allowed_accounts": ["U7654321"]}, "LIVE_ACCOUNT_ON_NON_W_HOST"
    ),
    "r_host_claims_w": Case("R", {"livegate_role": "W"}, "ROLE_GROUP_MISMATCH"),
    # The IB login: only W's gateway logs in live, with W's login and W's launcher AppRole.
    "r_live_trading_mode": Case(
        "R", {"livegate_gateway_trading_mode": "live"}, "LIVE_TRADING_MODE_ON_NON_W_HOST", True
    ),
    "abh_live_trading_mode": Case(
        "ABH", {"livegate_gateway_trading_mode": "live"}, "LIVE_TRADING_MODE_ON_NON_W_HOST"
    ),
    "abh_w_login_path": Case(
        "ABH",
        {"livegate_gateway_vault_secret_path": "livegate/W/ib_login"},
        "LIVE_LOGIN_PATH_ON_NON_W_HOST",
    ),
    "r_w_launcher_approle": Case(
        "R",
        {"livegate_gateway_vault_approle": "livegate-gateway-w"},
        "LIVE_LOGIN_PATH_ON_NON_W_HOST",
    ),
    "r_trading_api": Case(
        "R", {"livegate_gateway_read_only_api": False}, "READ_ONLY_LOGIN_REQUIRED"
    ),
    "abh_live_account_enabled": Case(
        "ABH",
        {
            "livegate_policy_live_trading_enabled": True,
            "livegate_policy_safety_live_trading_enabled": True,
            "livegate_policy_allowed_accounts": ["DU1234567", "U7654321"],
        },
        "LIVE_ACCOUNT_ON_NON_W_HOST",
    ),
    "w_read_only_gateway": Case(
        "W", {"livegate_gateway_read_only_api": True}, "W_GATEWAY_NOT_LIVE"
    ),
}


@pytest.fixture(scope="session")
def guard_runs(
    tmp_path_factory: pytest.TempPathFactory, dev_pki: Path
) -> dict[str, tuple[PlayResult, Path]]:
    """Every case's site.yml run, all started at once (each fails within seconds)."""
    started = {}
    for name, case in CASES.items():
        tmp = tmp_path_factory.mktemp(f"guard-{name}")
        roles = ROLES if case.all_hosts else (case.role,)
        fixtures = {role: make_role_fixture(tmp, role) for role in roles}
        host = f"{case.role.lower()}1"
        inventory = make_inventory(tmp, dev_pki, fixtures, host_vars={host: case.host_vars})
        started[name] = (
            start_playbook(
                tmp,
                "site.yml",
                inventory,
                vault_ids=[f.vault_id for f in fixtures.values()],
                log_name=name,
            ),
            tmp / "root",
        )
    return {name: (finish(*proc_log), root) for name, (proc_log, root) in started.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_deploy_when_host_given_setting_outside_its_role_then_play_fails_with_reason(
    guard_runs: dict[str, tuple[PlayResult, Path]], name: str
) -> None:
    result, _ = guard_runs[name]
    assert result.returncode != 0
    assert CASES[name].reason in result.output


@pytest.mark.parametrize("name", sorted(CASES))
def test_deploy_when_guard_refuses_then_nothing_is_written_on_any_host(
    guard_runs: dict[str, tuple[PlayResult, Path]], name: str
) -> None:
    result, root = guard_runs[name]
    assert result.returncode != 0
    assert files_under(root) == []
    assert "changed=0" in result.output
    assert "changed=1" not in result.output


def test_deploy_when_one_host_refused_then_healthy_hosts_stop_too(
    guard_runs: dict[str, tuple[PlayResult, Path]],
) -> None:
    result, root = guard_runs["r_live_trading"]
    # w1 and abh1 were fine, but any_errors_fatal stops the whole play at the guard.
    for host in ("w1", "abh1"):
        assert f"{host} " in result.output
        assert files_under(root / host) == []
