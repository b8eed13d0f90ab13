"""site.yml rendered locally into a temporary root per role: configs, units, secrets, modes."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path

import pytest
import yaml

from gateway_launcher import config as launcher_config
from livegate_common import deadlines
from policy_service import config as policy_config
from tests.deploy.ansible_run import ANSIBLE_DIR, files_under, run_playbook, write_yaml
from tests.deploy.conftest import Render
from writer_service import config as writer_config
from writer_service.config import WriterConfig

NON_LIVE = ("R", "ABH")
LIVE_PATH = re.compile(r"livegate/W/")
# A live IBKR account id; DU... paper ids don't match.
LIVE_ACCOUNT = re.compile(r"(?<![A-Za-z0-9])U\d{5,}")
LIVE_MARKERS = (
    LIVE_PATH,
    re.compile(r"livegate-writer-w\b"),
    re.compile(r"livegate-policy-w\b"),
    LIVE_ACCOUNT,
    re.compile(r"livegate-gateway-w\b"),
    re.compile(r"trading_mode: live"),
)


def _doc(render: Render, relative: str) -> dict[str, object]:
    loaded = yaml.safe_load(render.text(relative))
    assert isinstance(loaded, dict)
    return loaded


def _under_root(node: object, root: Path) -> object:
    """The config's absolute host paths, moved under the render root so loaders can read them."""
    if isinstance(node, dict):
        return {k: _under_root(v, root) for k, v in node.items()}
    if isinstance(node, list):
        return [_under_root(v, root) for v in node]
    if isinstance(node, str) and node.startswith(("/etc/livegate", "/var/lib/livegate")):
        return f"{root}{node}"
    return node


def _loaded(render: Render) -> tuple[WriterConfig, policy_config.PolicyConfig]:
    """Both rendered configs, read by the services' own loaders."""
    writer = writer_config.from_document(_doc(render, "etc/livegate/writer.yaml"), Path("/"))
    doc = _under_root(_doc(render, "etc/livegate/policy.yaml"), render.root)
    assert isinstance(doc, dict)
    return writer, policy_config.from_document(doc, Path("/"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_run_with_only_its_own_vault_id_then_play_succeeds(
    renders: dict[str, Render], role: str
) -> None:
    render = renders[role]
    assert render.result.returncode == 0, render.result.output[-4000:]
    assert "failed=0" in render.result.output


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_role_deployed_then_writer_config_names_its_own_role_and_path(
    renders: dict[str, Render], role: str
) -> None:
    render = renders[role]
    doc = _doc(render, "etc/livegate/writer.yaml")
    assert doc["role"] == role
    vault = doc["vault"]
    assert isinstance(vault, dict)
    assert vault["secret_path"] == f"livegate/{role}/broker"
    assert vault["role_id"] == render.fixture.role_id
    assert vault["kv_mount"] == "secret"
    assert vault["wrapped_secret_id_file"] == "/etc/livegate/writer/secret-id.wrapped"
    assert doc["principals"] == {
        "policy": {"sans": ["spiffe://livegate.dev/policy"], "scopes": ["writer.call"]}
    }
    wrapped = render.root / "etc/livegate/writer/secret-id.wrapped"
    assert wrapped.read_text(encoding="utf-8").strip() == render.fixture.wrapped_secret_id


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_role_deployed_then_services_own_loaders_accept_the_configs(
    renders: dict[str, Render], role: str
) -> None:
    render = renders[role]
    writer, policy = _loaded(render)
    assert writer.role.value == role
    assert writer.vault.secret_path == f"livegate/{role}/broker"
    assert writer.server.cpus == (frozenset({1}) if role == "W" else frozenset())
    assert policy.server.listen == "0.0.0.0:50051"
    assert policy.server.cpus == (frozenset({0}) if role == "W" else frozenset())
    waits = (policy.server.close_first_max_wait_s, writer.server.close_first_max_wait_s)
    assert waits == ((1.5, 0.5) if role == "W" else (2.0, 2.0))
    assert policy.storage_url == "sqlite:////var/lib/livegate/policy/policy.db"
    assert policy.audit.account_hash_key == render.fixture.account_hash_key.encode()
    # The audit keyring: from Vault, through the policy's own AppRole and its role's path.
    assert policy.audit.keyring is None and policy.audit.vault is not None
    assert policy.audit.vault.secret_path == f"livegate/{role}/audit"
    assert policy.audit.vault.role_id == render.fixture.policy_role_id
    anchors = f"{render.root}/var/lib/livegate/policy/audit-anchors.jsonl"
    assert str(policy.audit.anchor_file) == anchors
    assert policy.instance_role.value == role
    assert policy.live.enabled is (role != "R")
    assert policy.principals.resolve_sans(["spiffe://livegate.dev/operator"]) is not None


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_role_deployed_then_both_services_derive_one_chain_of_deadlines(
    renders: dict[str, Render], role: str
) -> None:
    """Issue 15, item 7: the policy declares the writer's broker timeout and derives the rest."""
    writer, policy = _loaded(renders[role])
    broker = writer.broker.request_timeout_s
    assert policy.writer.broker_timeout_s == broker
    assert policy.writer.deadline_s >= deadlines.min_writer_deadline_s(broker)
    assert policy.writer.deadline_s > deadlines.write_budget_s(broker)
    assert policy.pending_timeout_s >= deadlines.min_pending_timeout_s(policy.writer.deadline_s)
    # Issue 18, item 6: a lapse's claim outlives one cancel (the writer deadline) before a
    # second replica may take it over.
    assert policy.dead_man.enabled and policy.dead_man.check_interval_s == 1.0
    assert policy.dead_man.claim_stale_s >= max(30.0, policy.writer.deadline_s + 1.0)


def test_render_when_w_configured_live_then_policy_config_enables_live_trading(
    renders: dict[str, Render],
) -> None:
    doc = _doc(renders["W"], "etc/livegate/policy.yaml")
    assert doc["live_trading"] == {
        "enabled": True,
        "allowed_accounts": ["U1234567"],
        "risk_policy_id": "risk-2026-01",
        "paper_to_live_checklist_acknowledged": True,
    }
    assert doc["safety"] == {"live_trading_enabled": True}


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_role_deployed_then_policy_pins_the_writer_san_and_four_eyes(
    renders: dict[str, Render], role: str
) -> None:
    doc = _doc(renders[role], "etc/livegate/policy.yaml")
    writer = doc["writer"]
    assert isinstance(writer, dict)
    assert writer["expected_san"] == "spiffe://livegate.dev/writer"
    assert doc["approvals"] == {"four_eyes": True}


def test_render_when_r_role_then_live_trading_is_off(renders: dict[str, Render]) -> None:
    doc = _doc(renders["R"], "etc/livegate/policy.yaml")
    assert doc["live_trading"] == {
        "enabled": False,
        "allowed_accounts": [],
        "risk_policy_id": "",
        "paper_to_live_checklist_acknowledged": False,
    }
    assert doc["safety"] == {"live_trading_enabled": False}


def test_render_when_abh_enables_paper_accounts_then_its_policy_loads_with_them_only(
    renders: dict[str, Render],
) -> None:
    doc = _under_root(_doc(renders["ABH"], "etc/livegate/policy.yaml"), renders["ABH"].root)
    assert isinstance(doc, dict)
    assert doc["instance_role"] == "ABH"
    policy = policy_config.from_document(doc, Path("/"))
    assert policy.live.enabled and policy.live.allowed_accounts == frozenset({"DU1234567"})


@pytest.mark.parametrize("role", NON_LIVE)
def test_render_when_non_w_role_then_no_file_holds_a_live_path_approle_account_or_w_secret(
    renders: dict[str, Render], role: str
) -> None:
    render = renders[role]
    w_fixture = renders["W"].fixture
    files = files_under(render.root)
    assert len(files) >= 10
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in LIVE_MARKERS:
            assert not marker.search(text), f"{marker.pattern} in {path}"
        for w_secret in (
            w_fixture.role_id,
            w_fixture.wrapped_secret_id,
            w_fixture.account_hash_key,
            w_fixture.policy_role_id,
            w_fixture.policy_wrapped_secret_id,
            w_fixture.gateway_role_id,
            w_fixture.gateway_wrapped_secret_id,
        ):
            assert w_secret not in text, f"a W secret in {path}"


def test_render_when_w_role_then_the_same_scan_finds_the_live_markers(
    renders: dict[str, Render],
) -> None:
    # Proves the scan above can fail: W's own render holds the live paths, account and login
    # (the AppRole names are not rendered: the configs carry role-ids).
    text = "\n".join(p.read_text(errors="replace") for p in files_under(renders["W"].root))
    found = [m.pattern for m in LIVE_MARKERS if m.search(text)]
    assert found == [m.pattern for m in LIVE_MARKERS if not m.pattern.endswith("-w\\b")]


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_role_deployed_then_writer_unit_is_hardened_and_never_restarted_by_systemd(
    renders: dict[str, Render], role: str
) -> None:
    unit = renders[role].text("etc/systemd/system/livegate-writer.service")
    assert (
        "ExecStart=/opt/livegate/venv/bin/livegate-writer --config /etc/livegate/writer.yaml"
        in unit
    )
    # A second start finds the single-use secret-id unwrapped: it could only hide the first exit.
    assert "\nRestart=no\n" in unit
    assert "RestartPreventExitStatus" not in unit
    assert "\nUser=livegate-writer\n" in unit
    for directive in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "CapabilityBoundingSet=\n",
    ):
        assert directive in unit
    assert f"instance role {role})" in unit


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_role_deployed_then_policy_unit_writes_only_its_state(
    renders: dict[str, Render], role: str
) -> None:
    unit = renders[role].text("etc/systemd/system/livegate-policy.service")
    assert (
        "ExecStart=/opt/livegate/venv/bin/livegate-policy --config /etc/livegate/policy.yaml"
        in unit
    )
    assert "\nUser=livegate-policy\n" in unit
    assert "\nProtectSystem=strict\n" in unit
    assert "\nReadWritePaths=/var/lib/livegate/policy /var/lib/livegate/audit-export\n" in unit
    assert "\nRestartPreventExitStatus=2 4\n" in unit


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_keys_are_vault_encrypted_then_hosts_get_the_plain_keys_private(
    renders: dict[str, Render], role: str, dev_pki: Path
) -> None:
    render = renders[role]
    for name in ("policy", "writer"):
        key = render.root / f"etc/livegate/tls/{name}.key"
        assert key.read_bytes() == (dev_pki / f"{name}.key").read_bytes()
        assert _mode(key) == 0o440
    assert _mode(render.root / "etc/livegate/writer/secret-id.wrapped") == 0o400
    policy_wrapped = render.root / "etc/livegate/policy/secret-id.wrapped"
    assert _mode(policy_wrapped) == 0o400
    assert policy_wrapped.read_text().strip() == render.fixture.policy_wrapped_secret_id
    assert _mode(render.root / "var/lib/livegate/policy/audit-anchors.jsonl") == 0o600
    assert _mode(render.root / "etc/livegate/policy/account-hash.key") == 0o440
    assert _mode(render.root / "etc/livegate/writer.yaml") == 0o640
    assert _mode(render.root / "etc/livegate/policy.yaml") == 0o640
    hash_key = render.root / "etc/livegate/policy/account-hash.key"
    assert hash_key.read_text(encoding="utf-8") == render.fixture.account_hash_key


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_secrets_handled_then_play_output_never_shows_them(
    renders: dict[str, Render], role: str
) -> None:
    render = renders[role]
    output = render.result.output
    for secret in (
        render.fixture.role_id,
        render.fixture.wrapped_secret_id,
        render.fixture.account_hash_key,
        render.fixture.policy_role_id,
        render.fixture.policy_wrapped_secret_id,
        render.fixture.gateway_role_id,
        render.fixture.gateway_wrapped_secret_id,
    ):
        assert secret not in output


def test_render_when_example_inventory_and_example_only_password_then_r_host_renders(
    tmp_path: Path, dev_pki: Path
) -> None:
    # The shipped example vault files are encrypted with the documented throwaway password.
    password = tmp_path / "example-only"
    password.write_text("example-only\n", encoding="utf-8")
    overrides = tmp_path / "overrides.yml"
    write_yaml(
        overrides,
        {
            "livegate_render_only": True,
            "livegate_root": str(tmp_path / "root"),
            "livegate_pki_src_dir": str(dev_pki),
            "livegate_vault_client_ca_cert_src": "",
            # Given wrapped ids: no Vault is contacted while rendering the example.
            "livegate_vault_client_wrapped_secret_id": "example-wrapped",
            "livegate_vault_client_policy_wrapped_secret_id": "example-policy-wrapped",
            "livegate_gateway_vault_wrapped_secret_id": "example-wrapped-gateway",
            "ansible_become": False,
            "ansible_python_interpreter": sys.executable,
        },
    )
    result = run_playbook(
        tmp_path,
        "site.yml",
        ANSIBLE_DIR / "inventory/example/hosts.yml",
        vault_ids=[f"r@{password}"],
        limit="r",
        extra_vars_files=[overrides],
    )
    assert result.returncode == 0, result.output[-4000:]
    doc = yaml.safe_load((tmp_path / "root/etc/livegate/writer.yaml").read_text())
    assert doc["role"] == "R"
    assert doc["vault"]["role_id"] == "00000000-0000-0000-0000-000000000002"
    policy = yaml.safe_load((tmp_path / "root/etc/livegate/policy.yaml").read_text())
    assert policy["audit"]["vault"]["role_id"] == "00000000-0000-0000-0000-000000000102"
    assert policy["audit"]["vault"]["secret_path"] == "livegate/R/audit"


SESSIONS = {
    "W": ("live", False, False, 4001),
    "R": ("paper", True, True, 4002),
    "ABH": ("paper", False, False, 4002),
}


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_role_deployed_then_launcher_config_loads_with_the_roles_session_and_path(
    renders: dict[str, Render], role: str
) -> None:
    render = renders[role]
    config = launcher_config.from_document(_doc(render, "etc/livegate/gateway.yaml"), Path("/"))
    mode, ro_login, ro_api, port = SESSIONS[role]
    assert config.role.value == role
    assert (config.ibc.trading_mode, config.ibc.read_only_login, config.ibc.read_only_api) == (
        mode,
        ro_login,
        ro_api,
    )
    assert config.ibc.api_port == port
    assert config.ibc.config_file == Path("/run/livegate-gateway/config.ini")
    assert config.vault.secret_path == f"livegate/{role}/ib_login"
    assert config.vault.role_id == render.fixture.gateway_role_id
    assert config.vault.wrapped_secret_id_file == Path("/etc/livegate/gateway/secret-id.wrapped")
    assert "--ibc-ini={ibc_ini}" in config.gateway.argv
    assert config.gateway.argv[0] == "/usr/bin/xvfb-run"
    wrapped = render.root / "etc/livegate/gateway/secret-id.wrapped"
    assert wrapped.read_text(encoding="utf-8").strip() == render.fixture.gateway_wrapped_secret_id
    assert _mode(wrapped) == 0o400
    assert _mode(render.root / "etc/livegate/gateway.yaml") == 0o640


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_render_when_role_deployed_then_gateway_unit_is_hardened_notify_and_needs_its_firewall(
    renders: dict[str, Render], role: str
) -> None:
    unit = renders[role].text("etc/systemd/system/livegate-gateway.service")
    assert (
        "ExecStart=/opt/livegate/venv/bin/livegate-gateway-launcher"
        " --config /etc/livegate/gateway.yaml" in unit
    )
    for directive in (
        "\nType=notify\n",
        "\nUser=livegate-gateway\n",
        "\nRuntimeDirectory=livegate-gateway\n",
        "\nRuntimeDirectoryMode=0700\n",
        "\nRequires=livegate-gateway-firewall.service\n",
        "\nRestart=no\n",
        "\nNoNewPrivileges=yes\n",
        "\nProtectSystem=strict\n",
        "\nCapabilityBoundingSet=\n",
        "\nUMask=0077\n",
    ):
        assert directive in unit, directive
    assert "InaccessiblePaths=-/var/lib/livegate -/etc/livegate/writer" in unit
    firewall = renders[role].text("etc/systemd/system/livegate-gateway-firewall.service")
    assert "ExecStart=/usr/sbin/nft -f /etc/livegate/nftables/gateway.nft" in firewall
    assert "Before=network-pre.target livegate-gateway.service" in firewall
    writer = renders[role].text("etc/systemd/system/livegate-writer.service")
    assert "livegate-gateway.service" in writer.split("[Service]")[0]
