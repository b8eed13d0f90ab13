"""The inventory of the test's hosts (the example inventory's files) and playbook runs over SSH."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from tests.deploy.real.hosts import Host
from tests.deploy.real.prep import ControlNode
from tests.deploy.real.shell import run

REPO: Final = Path(__file__).resolve().parents[3]
ANSIBLE: Final = REPO / "ansible"
EXAMPLE: Final = ANSIBLE / "inventory" / "example"
BIN: Final = Path(sys.executable).parent
# A hang guard, not a speed target: on 2 idle cores a first pass takes about a minute, but with
# the cores shared eight ways it has taken over ten.
PLAY_TIMEOUT_S: Final = 1500
# W trades live in the test, on the simulator's account, so the demo can pass on the W host.
W_LIVE: Final = {
    "livegate_policy_live_trading_enabled": True,
    "livegate_policy_safety_live_trading_enabled": True,
    "livegate_policy_paper_to_live_checklist_acknowledged": True,
    "livegate_policy_allowed_accounts": ["U1234567"],
}


@dataclass(frozen=True)
class Play:
    role: str
    returncode: int
    output: str
    seconds: float

    def changed_tasks(self) -> list[str]:
        """The tasks (and handlers) that reported a change, in order."""
        changed: list[str] = []
        current = ""
        for line in self.output.splitlines():
            header = re.match(r"(?:TASK|RUNNING HANDLER) \[(.+?)\] \*+", line)
            if header:
                current = header.group(1)
            elif line.startswith("changed:") and current and current not in changed:
                changed.append(current)
        return changed

    def recap(self) -> dict[str, int]:
        found = re.search(
            r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", self.output
        )
        if not found:
            return {}
        return dict(
            zip(("ok", "changed", "unreachable", "failed"), map(int, found.groups()), strict=True)
        )


def _yaml(path: Path, doc: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(doc), sort_keys=False), encoding="utf-8")
    return path


class Inventory:
    """The example inventory's group_vars and risk policy, with the test's hosts and secrets."""

    def __init__(self, work: Path, control: ControlNode, hosts: Sequence[Host]):
        self.dir = work / "inventory"
        self.work = work
        self.logs = work / "logs"
        self.passwords: dict[str, Path] = {}
        shutil.copytree(EXAMPLE, self.dir, ignore=shutil.ignore_patterns("vault.yml", "hosts.yml"))
        groups: dict[str, Any] = {}
        for host in hosts:
            host_vars: dict[str, Any] = {"ansible_port": host.ssh_port}
            if host.role == "W":
                host_vars.update(W_LIVE)
            groups[host.group] = {"hosts": {host.name: host_vars}}
            pki = self.dir / "pki" / host.name
            pki.mkdir(parents=True)
            for name in ("ca.pem", "policy.pem", "policy.key", "writer.pem", "writer.key"):
                shutil.copy2(control.pki / name, pki / name)
        self.hosts_file = _yaml(
            self.dir / "hosts.yml",
            {"all": {"vars": {
                "ansible_host": "127.0.0.1",
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(control.ssh_key),
                "ansible_python_interpreter": "/usr/bin/python3",
            }, "children": groups}},
        )  # fmt: skip
        self.control = control
        self.hosts = list(hosts)

    def add_secrets(
        self, role: str, role_ids: Mapping[str, str], issuer_token: str, account_hash_key: str
    ) -> None:
        """The role's vault.yml (the names the example's main.yml reads) and keys, each
        encrypted with the role's own throwaway vault-id."""
        group = role.lower()
        password = self.work / f"vault-pass-{group}"
        password.write_text(secrets.token_hex(16) + "\n", encoding="utf-8")
        password.chmod(0o600)
        self.passwords[role] = password
        vault_file = _yaml(
            self.dir / "group_vars" / group / "vault.yml",
            {
                f"vault_{group}_role_id": role_ids["writer"],
                f"vault_{group}_gateway_role_id": role_ids["gateway"],
                f"vault_{group}_policy_role_id": role_ids["policy"],
                f"vault_{group}_issuer_token": issuer_token,
                # The writer's broker secret holds the same key: both services hash alike.
                f"vault_{group}_account_hash_key": account_hash_key,
            },
        )
        keys = [
            self.dir / "pki" / h.name / f"{n}.key"
            for h in self.hosts
            if h.role == role
            for n in ("policy", "writer")
        ]
        run(
            [str(BIN / "ansible-vault"), "encrypt", "--vault-id", f"{group}@{password}",
             "--encrypt-vault-id", group, str(vault_file), *map(str, keys)],
            self.logs / "inventory.log", env=ansible_env(self.work),
        )  # fmt: skip

    def play(self, role: str, extra: Sequence[Path] = (), log: str = "") -> Play:
        group = role.lower()
        argv = [
            str(BIN / "ansible-playbook"),
            "-i",
            str(self.hosts_file),
            "site.yml",
            "--limit",
            group,
        ]
        argv += [
            "--vault-id",
            f"{group}@{self.passwords[role]}",
            "-e",
            f"@{self.work / 'test-vars.yml'}",
        ]
        for path in extra:
            argv += ["-e", f"@{path}"]
        started = time.monotonic()
        done = run(
            argv,
            self.logs / f"play-{log or group}.log",
            env=ansible_env(self.work),
            cwd=ANSIBLE,
            timeout=PLAY_TIMEOUT_S,
            check=False,
        )
        return Play(role, done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def write_test_vars(
    work: Path, control: ControlNode, vault_for_hosts: str, vault_for_control: str
) -> None:
    """What only this test sets for every host: Vault's addresses, the wheels, root SSH."""
    _yaml(
        work / "test-vars.yml",
        {
            "ansible_become": False,
            "livegate_vault_client_addr": vault_for_hosts,
            "livegate_vault_client_issuer_addr": vault_for_control,
            "livegate_vault_client_ca_cert_src": "",
            # Built once by the test, as the play would (tests/deploy/test_wheel.py covers that).
            "livegate_wheel_src": str(control.wheel),
            "livegate_wheelhouse_src": str(control.wheelhouse),
            # Each host runs the simulator as its gateway (hosts.py), not IB Gateway under IBC.
            "livegate_gateway_enabled": False,
            # The hosts are containers on overlayfs without CAP_LINUX_IMMUTABLE: chattr +a on the
            # anchor file cannot be set there. A real host keeps the default (true).
            "livegate_policy_audit_anchor_append_only": False,
        },
    )


def extra_vars(work: Path, name: str, doc: Mapping[str, Any]) -> Path:
    return _yaml(work / f"{name}.yml", doc)


def ansible_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(ANSIBLE / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(work / "ssh-cp"),
        ANSIBLE_SSH_ARGS=(
            "-o ControlMaster=auto -o ControlPersist=30s -o UserKnownHostsFile=/dev/null"
        ),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
    )
    return env


def provision_vault(
    work: Path, addr: str, root_token: str, account_hash_keys: Mapping[str, str]
) -> Play:
    """vault_provision.yml from the control node: policies, AppRoles, each role's broker secret."""
    gateway = {"gateway_host": "127.0.0.1", "gateway_port": 4002}
    keys = {role: {"account_hash_key": key} for role, key in account_hash_keys.items()}
    provision = _yaml(
        work / "provision.yml",
        {
            "livegate_vault_provision_addr": addr,
            "livegate_vault_provision_token": root_token,
            "livegate_vault_provision_role_id_dir": str(work / "role-ids"),
            "livegate_vault_provision_broker_secrets": {
                "W": {**gateway, **keys["W"], "client_id": 7, "accounts": "U1234567"},
                "R": {**gateway, **keys["R"], "client_id": 8, "accounts": "DU111"},
                "ABH": {**gateway, **keys["ABH"], "client_id": 9, "accounts": "DU222"},
            },
        },
    )
    provision.chmod(0o600)
    (work / "role-ids").mkdir(exist_ok=True)
    argv = [str(BIN / "ansible-playbook"), "vault_provision.yml", "-e", f"@{provision}"]
    started = time.monotonic()
    done = run(
        argv,
        work / "logs" / "play-vault-provision.log",
        env=ansible_env(work),
        cwd=ANSIBLE,
        check=False,
    )
    return Play("-", done.returncode, done.stdout + done.stderr, time.monotonic() - started)
