"""Run the project's Ansible playbooks from the venv against throwaway inventories."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

REPO: Final = Path(__file__).resolve().parents[2]
ANSIBLE_DIR: Final = REPO / "ansible"
DOCKER_DIR: Final = REPO / "docker"
BIN: Final = Path(sys.executable).parent
ROLES: Final = ("W", "R", "ABH")
# Every playbook run is bounded: a hang is a failure, not a stuck CI job. A machine shared by
# several test runs may raise the bound (LIVEGATE_TEST_PLAY_TIMEOUT_S); CI keeps the default.
RUN_TIMEOUT_S: Final = float(os.environ.get("LIVEGATE_TEST_PLAY_TIMEOUT_S", "120"))


def tool(name: str) -> str:
    """A console script installed beside this interpreter (ci/deploy-requirements.txt)."""
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{name} is missing: pip install -r ci/deploy-requirements.txt")
    return str(path)


def ansible_env(tmp: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(extra or {})
    local_tmp = tmp / "ansible-tmp"
    local_tmp.mkdir(parents=True, exist_ok=True)
    env.update(
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(local_tmp),
        ANSIBLE_REMOTE_TEMP=str(local_tmp),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LINT_OFFLINE="1",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
    )
    return env


@dataclass(frozen=True)
class RoleFixture:
    """One instance role's inventory inputs: its vault-id password file and its secrets."""

    role: str
    password_file: Path
    role_id: str
    wrapped_secret_id: str
    account_hash_key: str
    policy_role_id: str
    policy_wrapped_secret_id: str
    # The gateway launcher's own AppRole material.
    gateway_role_id: str
    gateway_wrapped_secret_id: str

    @property
    def vault_id(self) -> str:
        return f"{self.role.lower()}@{self.password_file}"


def write_yaml(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")


def vault_encrypt(tmp: Path, fixture: RoleFixture, files: Sequence[Path]) -> None:
    """Encrypt FILES in place with the role's own vault-id (a throwaway password)."""
    subprocess.run(
        [
            tool("ansible-vault"),
            "encrypt",
            "--vault-id",
            fixture.vault_id,
            "--encrypt-vault-id",
            fixture.role.lower(),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        env=ansible_env(tmp),
        timeout=RUN_TIMEOUT_S,
    )


def make_role_fixture(tmp: Path, role: str) -> RoleFixture:
    password_file = tmp / f"vault-pass-{role.lower()}"
    password_file.write_text(secrets.token_hex(16) + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    return RoleFixture(
        role=role,
        password_file=password_file,
        role_id=f"role-id-{role.lower()}-{secrets.token_hex(8)}",
        wrapped_secret_id=f"wrap-{role.lower()}-{secrets.token_hex(8)}",
        account_hash_key=secrets.token_hex(32),
        policy_role_id=f"policy-role-id-{role.lower()}-{secrets.token_hex(8)}",
        policy_wrapped_secret_id=f"policy-wrap-{role.lower()}-{secrets.token_hex(8)}",
        gateway_role_id=f"gw-role-id-{role.lower()}-{secrets.token_hex(8)}",
        gateway_wrapped_secret_id=f"gw-wrap-{role.lower()}-{secrets.token_hex(8)}",
    )


def make_inventory(
    tmp: Path,
    pki_dir: Path,
    fixtures: Mapping[str, RoleFixture],
    host_vars: Mapping[str, Mapping[str, Any]] | None = None,
    vault_vars: Mapping[str, Mapping[str, Any]] | None = None,
    common_vars: Mapping[str, Any] | None = None,
) -> Path:
    """One local host per role (w1, r1, abh1); secrets in per-role vault-encrypted files.

    Each host renders into <tmp>/root/<host>; its TLS keys are vault-encrypted copies.
    """
    inv = tmp / "inventory"
    hosts: dict[str, dict[str, Any]] = {}
    for role, fixture in fixtures.items():
        group = role.lower()
        host = f"{group}1"
        host_pki = tmp / "pki" / host
        shutil.copytree(pki_dir, host_pki)
        vars_file = inv / "group_vars" / group / "vault.yml"
        write_yaml(
            vars_file,
            {
                "livegate_vault_client_role_id": fixture.role_id,
                "livegate_vault_client_wrapped_secret_id": fixture.wrapped_secret_id,
                "livegate_policy_account_hash_key": fixture.account_hash_key,
                "livegate_vault_client_policy_role_id": fixture.policy_role_id,
                "livegate_vault_client_policy_wrapped_secret_id": (
                    fixture.policy_wrapped_secret_id
                ),
                "livegate_gateway_vault_role_id": fixture.gateway_role_id,
                "livegate_gateway_vault_wrapped_secret_id": fixture.gateway_wrapped_secret_id,
                **dict((vault_vars or {}).get(role, {})),
            },
        )
        write_yaml(inv / "group_vars" / group / "main.yml", {"livegate_role": role})
        vault_encrypt(tmp, fixture, [vars_file, host_pki / "policy.key", host_pki / "writer.key"])
        hosts[group] = {"hosts": {}}
        hosts[group]["hosts"][host] = {
            "livegate_root": str(tmp / "root" / host),
            "livegate_pki_src_dir": str(host_pki),
            **dict((host_vars or {}).get(host, {})),
        }
    write_yaml(
        inv / "hosts.yml",
        {
            "all": {
                "vars": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "livegate_render_only": True,
                    "livegate_vault_client_addr": "https://vault.test.invalid:8200",
                    **dict(common_vars or {}),
                },
                "children": hosts,
            }
        },
    )
    return inv / "hosts.yml"


def start_playbook(
    tmp: Path,
    playbook: str,
    inventory: Path,
    vault_ids: Sequence[str] = (),
    limit: str | None = None,
    extra_vars_files: Sequence[Path] = (),
    log_name: str = "playbook",
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[str], Path]:
    """Start ansible-playbook -c local; output goes to a log file read after wait()."""
    argv = [tool("ansible-playbook"), "-c", "local", "-i", str(inventory), playbook]
    for vault_id in vault_ids:
        argv += ["--vault-id", vault_id]
    if limit:
        argv += ["--limit", limit]
    for path in extra_vars_files:
        argv += ["-e", f"@{path}"]
    log = tmp / f"{log_name}.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            argv,
            cwd=ANSIBLE_DIR,
            env=ansible_env(tmp, env),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return proc, log


@dataclass(frozen=True)
class PlayResult:
    returncode: int
    output: str


def finish(proc: subprocess.Popen[str], log: Path) -> PlayResult:
    try:
        proc.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    return PlayResult(proc.returncode, log.read_text(encoding="utf-8", errors="replace"))


def run_playbook(tmp: Path, playbook: str, inventory: Path, **kwargs: Any) -> PlayResult:
    return finish(*start_playbook(tmp, playbook, inventory, **kwargs))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def health_venv(tmp: Path, real_python: bool = True) -> Path:
    """A venv layout for the roles' health checks under TMP: the livegate-health script, run by
    this interpreter (a wrapper: a symlinked interpreter would not find this venv's packages)
    or by one that always says healthy. Returns the venv path (livegate_venv)."""
    venv = tmp / "opt/livegate/venv"
    (venv / "bin").mkdir(parents=True)
    body = f'exec "{sys.executable}" "$@"' if real_python else "exit 0"
    (venv / "bin/python").write_text(f"#!/bin/sh\n{body}\n")
    (venv / "bin/python").chmod(0o755)
    (tmp / "opt/livegate/bin").mkdir(parents=True)
    shutil.copy(
        ANSIBLE_DIR / "roles/livegate/files/livegate_health.py",
        tmp / "opt/livegate/bin/livegate-health",
    )
    return venv
