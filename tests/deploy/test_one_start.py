"""The roles start each service once per run, restart the writer only for a reason, and stop
waiting for a writer that exited: site.yml's vault client, policy and writer roles played locally
against a stand-in systemctl that logs every start (tests/deploy/fake_systemd.py)."""

from __future__ import annotations

import getpass
import grp
import os
import re
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from livegate_common.server import mark_serving
from tests.deploy.ansible_run import (
    ANSIBLE_DIR,
    PlayResult,
    health_venv,
    run_playbook,
    write_yaml,
)
from tests.deploy.conftest import WRITER_SERVICE
from tests.support.net import free_port

FAKE = Path(__file__).with_name("fake_systemd.py")
POLICY = "livegate-policy.service"
WRITER = "livegate-writer.service"
# Seven full plays share one fixture: the per-test bound covers them all.
pytestmark = pytest.mark.timeout(660)
PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars_files:
    - {defaults}
  roles:
    - livegate_vault_client
    - livegate_policy
    - livegate_writer
"""


@dataclass
class LocalHost:
    tmp: Path
    root: Path
    state: Path
    inventory: Path
    playbook: Path
    base_vars: dict[str, Any]
    env: dict[str, str]

    def actions(self) -> list[str]:
        log = self.state / "actions.log"
        return log.read_text(encoding="utf-8").splitlines() if log.exists() else []

    def play(self, **overrides: Any) -> tuple[PlayResult, list[str]]:
        """One run of the roles; returns it with the start/restart/stop actions it caused."""
        before = len(self.actions())
        extra = self.tmp / f"vars-{secrets.token_hex(4)}.yml"
        write_yaml(extra, {**self.base_vars, **overrides})
        result = run_playbook(
            self.tmp, str(self.playbook), self.inventory, extra_vars_files=[extra], env=self.env
        )
        return result, self.actions()[before:]


def _tool(bin_dir: Path, name: str) -> None:
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" {name} "$@"\n')
    script.chmod(0o755)


def _host(tmp: Path, dev_pki: Path, real_python: bool, fail: str = "", **more: Any) -> LocalHost:
    root, state, bin_dir = tmp / "root", tmp / "systemd", tmp / "bin"
    for directory in (root / "etc/systemd/system", state, bin_dir):
        directory.mkdir(parents=True)
    for name in ("systemctl", "journalctl"):
        _tool(bin_dir, name)
    me, my_group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    risk = tmp / "risk-policy.yaml"
    shutil.copy(ANSIBLE_DIR / "inventory/example/files/risk-policy.yaml", risk)
    inventory = tmp / "hosts.yml"
    write_yaml(inventory, {"all": {"hosts": {"r1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
    }}}})  # fmt: skip
    playbook = tmp / "roles.yml"
    playbook.write_text(
        PLAYBOOK.format(defaults=ANSIBLE_DIR / "roles/livegate/defaults/main.yml"), encoding="utf-8"
    )
    base: dict[str, Any] = {
        "livegate_role": "R",
        "livegate_root": str(root),
        "livegate_render_only": False,
        "livegate_venv": str(health_venv(tmp, real_python)),
        "livegate_tls_dir": str(dev_pki),
        # The services' users are whoever runs the test: only ownership, not users, is tested.
        "livegate_policy_user": me,
        "livegate_writer_user": me,
        "livegate_group": my_group,
        "livegate_vault_client_addr": "https://vault.test.invalid:8200",
        "livegate_vault_client_role_id": "role-id-r",
        "livegate_vault_client_wrapped_secret_id": f"wrap-{secrets.token_hex(8)}",
        # The policy's own (it reads its audit keyring with it), given like the writer's.
        "livegate_vault_client_policy_role_id": "policy-role-id-r",
        "livegate_vault_client_policy_wrapped_secret_id": f"wrap-policy-{secrets.token_hex(8)}",
        # chattr +a would leave a file under tmp nobody but root can remove; starts are tested.
        "livegate_policy_audit_anchor_append_only": False,
        "livegate_policy_account_hash_key": secrets.token_hex(32),
        "livegate_policy_risk_policy_src": str(risk),
        **more,
    }
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_SYSTEMD_DIR": str(state),
        "FAKE_SYSTEMD_UNIT_DIR": str(root / "etc/systemd/system"),
        "FAKE_SYSTEMD_FAIL": fail,
    }
    return LocalHost(tmp, root, state, inventory, playbook, base, env)


def _ok(result: PlayResult) -> None:
    assert result.returncode == 0, result.output[-4000:]


def _changed(result: PlayResult) -> int:
    line = next(x for x in result.output.splitlines() if "changed=" in x and "ok=" in x)
    return int(line.split("changed=")[1].split()[0])


Run = tuple[PlayResult, list[str]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, dev_pki: Path) -> dict[str, Run]:
    """One host through the runs a deployment sees, in order (each run is a full play)."""
    local = _host(tmp_path_factory.mktemp("one-start"), dev_pki, real_python=False)
    fresh_ids = iter(f"wrap-run-{n}" for n in range(2, 11))
    return {
        "fresh": local.play(),
        "unchanged": local.play(),
        "new_secret_id": local.play(livegate_vault_client_wrapped_secret_id=next(fresh_ids)),
        "writer_config": local.play(
            livegate_vault_client_wrapped_secret_id=next(fresh_ids),
            livegate_writer_log_level="DEBUG",
        ),
        "policy_config": local.play(
            livegate_vault_client_wrapped_secret_id=next(fresh_ids),
            livegate_writer_log_level="DEBUG",
            livegate_policy_writer_deadline_s=4,
        ),
        "broker_timeout": local.play(
            livegate_vault_client_wrapped_secret_id=next(fresh_ids),
            livegate_writer_log_level="DEBUG",
            livegate_broker_request_timeout_s=12,
        ),
        "broker_timeout_again": local.play(
            livegate_vault_client_wrapped_secret_id=next(fresh_ids),
            livegate_writer_log_level="DEBUG",
            livegate_broker_request_timeout_s=12,
            livegate_policy_writer_deadline_s=30,
        ),
    }


def test_converge_when_fresh_host_then_policy_and_writer_each_start_once(
    runs: dict[str, Run],
) -> None:
    result, actions = runs["fresh"]
    _ok(result)
    assert actions == [f"start {POLICY}", f"start {WRITER}"]


def test_converge_when_nothing_changed_then_nothing_starts_and_nothing_changes(
    runs: dict[str, Run],
) -> None:
    result, actions = runs["unchanged"]
    _ok(result)
    assert actions == []
    assert _changed(result) == 0


def test_converge_when_run_again_with_a_fresh_secret_id_then_only_the_writer_restarts_once(
    runs: dict[str, Run],
) -> None:
    result, actions = runs["new_secret_id"]
    _ok(result)
    assert actions == [f"restart {WRITER}"]
    assert _changed(result) == 2  # the secret-id file and the writer's one restart


def test_converge_when_writer_config_changes_then_the_writer_restarts_once_and_the_policy_not(
    runs: dict[str, Run],
) -> None:
    result, actions = runs["writer_config"]
    _ok(result)
    assert actions == [f"restart {WRITER}"]


def test_converge_when_policy_config_changes_then_each_service_restarts_once(
    runs: dict[str, Run],
) -> None:
    result, actions = runs["policy_config"]
    _ok(result)
    assert actions == [f"restart {POLICY}", f"restart {WRITER}"]


def test_converge_when_shared_broker_timeout_changes_then_writer_stops_before_the_policy_restarts(
    runs: dict[str, Run],
) -> None:
    # The policy refuses to start beside a writer reporting the old timeout; a stopped writer
    # it does not ask. The writer then starts once, with the new value.
    result, actions = runs["broker_timeout"]
    _ok(result)
    assert actions == [f"stop {WRITER}", f"restart {POLICY}", f"start {WRITER}"]


def test_converge_when_policy_restarts_and_the_timeout_is_unchanged_then_the_writer_keeps_running(
    runs: dict[str, Run],
) -> None:
    result, actions = runs["broker_timeout_again"]
    _ok(result)
    assert actions == [f"restart {POLICY}", f"restart {WRITER}"]


def test_converge_when_writer_exits_3_then_play_fails_at_once_with_its_status_and_evidence(
    tmp_path: Path, dev_pki: Path, writer_like: tuple[grpc.Server, int, object]
) -> None:
    # The policy answers SERVING; the writer's unit exits 3 (probe mismatch) at its start.
    _, port, health = writer_like
    mark_serving(health, [WRITER_SERVICE], True)  # type: ignore[arg-type]
    local = _host(
        tmp_path, dev_pki, real_python=True, fail=f"{WRITER}:3",
        livegate_policy_health_target=f"127.0.0.1:{port}",
        livegate_writer_health_target=f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    result, actions = local.play()
    assert result.returncode != 0
    assert "WRITER_UNHEALTHY" in result.output
    assert "exit status 3" in result.output
    assert "permission probe did not match the role" in result.output
    assert '"verdict": "MISMATCH"' in result.output
    # One start: a second one would find the secret-id unwrapped and exit 4 over the 3.
    assert actions.count(f"start {WRITER}") + actions.count(f"restart {WRITER}") == 1
    # The gate waits up to 60 s for a writer that may still come up, not for one that exited.
    waited = re.search(
        r"UNIT_DOWN livegate-writer.service .*\(waited ([0-9.]+)s of 60s\)", result.output
    )
    assert waited is not None, result.output[-3000:]
    assert float(waited.group(1)) < 30
