"""Per role, with the real parts: Vault -> launcher -> gateway login -> writer probe -> verdict.

OpenBao is provisioned by the project's own code; the simulator logs in from the config.ini the
launcher rendered, as IB Gateway under IBC would; the writer runs as its own process and its
start-up probe gives the verdict. Each test prints the chain's log lines (run with -s).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from livegate_common.roles import Role
from tests.gateway_launcher.chain import (
    ABH_LOGIN,
    MODES,
    R_LOGIN,
    W_LOGIN,
    Chain,
    probe_writer,
    run_chain,
)
from tests.support.gateways import (
    ProcessLog,
    SimLogin,
    launcher_document,
    start_launcher,
    store_login,
    write_users,
)
from tests.support.net import free_port
from tests.support.vault import DevVault

pytestmark = pytest.mark.timeout(120)


def _show(chain: Chain, name: str) -> None:
    print()
    for line in chain.lines(name):
        print(line)


# Per role, the login its host holds and the session line its gateway must print.
MATCHING = {
    "W live": (Role.W, W_LOGIN, "TradingMode=live, read-only=no"),
    "R read-only": (Role.R, R_LOGIN, "TradingMode=paper, read-only=yes"),
    "ABH read-only": (Role.ABH, ABH_LOGIN, "TradingMode=paper, read-only=yes"),
}


@pytest.mark.parametrize("name", list(MATCHING))
def test_chain_when_host_logs_in_with_its_roles_login_then_writer_probe_matches_role(
    dev_pki: Path, vault: DevVault, tmp_path: Path, ini_dir: Path, name: str
) -> None:
    role, login, session = MATCHING[name]
    chain = run_chain(dev_pki, vault, tmp_path, ini_dir, role, login, MODES[name])
    _show(chain, role.value)
    assert any(session in line for line in chain.lines(role.value))
    assert chain.probe is not None and chain.probe["verdict"] == "MATCHES_ROLE"
    assert chain.probe["role"] == role.value and chain.writer_exit is None
    observed = {e["check"]: e["observed"] for e in chain.probe["evidence"]}
    # W proves it can trade (margins on a what-if); R and ABH that they cannot (321).
    expected = "no 321" if role is Role.W else "321"
    assert expected in observed["open_orders_query"]


def test_chain_when_abh_logs_in_paper_trade_capable_then_its_writer_serves(
    dev_pki: Path, vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    chain = run_chain(dev_pki, vault, tmp_path, ini_dir, Role.ABH, ABH_LOGIN, MODES["ABH paper"])
    _show(chain, "ABH")
    assert any("TradingMode=paper, read-only=no" in line for line in chain.lines("ABH"))
    # Every managed account is paper (DU): ABH may trade there, so the probe matches its role
    # and the writer keeps serving (its role rule still refuses any non-DU account).
    assert chain.probe is not None and chain.probe["verdict"] == "MATCHES_ROLE"
    assert chain.writer_exit is None


def test_launcher_when_r_host_is_given_ws_login_path_then_vault_says_403_and_nothing_starts(
    vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    store_login(vault, Role.W, W_LOGIN)
    users = write_users(tmp_path / "users.yaml", [W_LOGIN, R_LOGIN])
    port = free_port()
    doc = launcher_document(
        vault, Role.R, tmp_path, ini_dir, users, MODES["R read-only"], port,
        secret_path="livegate/W/ib_login",
    )  # fmt: skip
    launcher = start_launcher(doc, tmp_path)
    assert launcher.wait_exit(30) == 4
    failed = launcher.find(lambda r: r.get("msg") == "vault failed; not starting")
    assert failed is not None
    print(f"\nR launcher given W's path: exit=4 error={failed['error']!r}")
    assert "livegate/W/ib_login: permission denied (403)" in failed["error"]
    assert launcher.find(lambda r: r.get("msg") == "gateway started") is None
    assert list(ini_dir.iterdir()) == []


def test_writer_when_r_host_is_given_a_live_login_by_hand_then_probe_stops_it_with_exit_3(
    dev_pki: Path, vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    # An operator bypasses Vault and the launcher: a live login in a config.ini by hand.
    live = SimLogin("w-trader-2", "plain-live-password", "live", live_accounts=("U1234567",))
    port = free_port()
    users = write_users(tmp_path / "users.yaml", [live])
    ini = ini_dir / "by-hand.ini"
    ini.write_text(
        f"IbLoginId={live.login_id}\nIbPassword={live.password}\nTradingMode=live\n"
        f"OverrideTwsApiPort={port}\n",
        encoding="ascii",
    )
    argv = [sys.executable, "-m", "gateway_sim", "--ibc-config", str(ini), "--users", str(users)]
    gateway = ProcessLog.start(argv)
    try:
        assert gateway.wait_for(lambda r: r.get("event") == "listening", 20), gateway.text()
        # R's broker secret lists R's paper account, as provisioning allows outside W.
        _, code, probe = probe_writer(dev_pki, vault, Role.R, tmp_path, port, ("DU2345678",))
    finally:
        gateway.stop()
    assert any("TradingMode=live, read-only=no" in line for line in gateway.lines)
    assert code == 3
    assert probe is not None and probe["verdict"] == "MISMATCH" and probe["role"] == "R"
    print(f"\nR writer on a live login by hand: verdict={probe['verdict']} exit={code}")
    evidence = {e["check"]: e for e in probe["evidence"]}
    assert not evidence["managed_accounts"]["passed"]  # U1234567 managed, DU2345678 missing
    assert not evidence["open_orders_query"]["passed"]  # answered: the session can trade
