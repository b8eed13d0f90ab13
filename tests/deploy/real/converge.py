"""site.yml on one systemd host per role: guard, converge, second pass, exit 3, demo, hardening."""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

import requests

from livegate_cli.demo import CALLERS as DEMO_CALLERS
from tests.deploy.real import hosts as hostlib
from tests.deploy.real.engine import Engine
from tests.deploy.real.hosts import Host
from tests.deploy.real.plays import Inventory, Play, extra_vars, provision_vault, write_test_vars
from tests.deploy.real.prep import ControlNode
from tests.deploy.real.shell import CheckFailed, Timings, say

TRACK: Final = "hosts"
ROLES: Final = ("W", "R", "ABH")
# What must change when nothing else did: the fresh single-use secret-id, and the writer's one
# restart to unwrap it.
# Each identity that unwraps a single-use secret-id at start gets a fresh one and restarts to
# unwrap it: the writer, and the policy service (its audit keyring), each started once.
SECOND_PASS: Final = [
    "livegate_vault_client : Install the wrapped secret-id",
    "livegate_vault_client : Install the policy service's wrapped secret-id",
    "livegate_policy : Start the policy service once",
    "livegate_writer : Start the writer service once",
]
T = TypeVar("T")


@dataclass
class RoleReport:
    role: str
    converge_s: float = 0.0
    changed: list[int] = field(default_factory=list)
    verdict: str = "-"
    security: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _parallel(func: Callable[[Host], T], hosts: list[Host]) -> list[T]:
    with ThreadPoolExecutor(len(hosts)) as pool:
        return list(pool.map(func, hosts))


def _expect(ok: bool, message: str) -> None:
    if not ok:
        raise CheckFailed(message)


def _converged(play: Play, what: str) -> None:
    _expect(play.returncode == 0, f"{what} failed (exit {play.returncode}):\n{play.output[-5000:]}")


def _one_writer_start(host: Host, since: float, what: str) -> None:
    starts = host.starts_since("livegate-writer.service", since)
    _expect(starts == 1, f"{host.name}: the writer started {starts} times in {what}, expected once")


def _units_active(host: Host) -> None:
    for unit in ("livegate-policy.service", "livegate-writer.service"):
        state = host.unit_state(unit)
        _expect(state.get("ActiveState") == "active", f"{host.name}: {unit} is {state}")


class Deployment:
    def __init__(self, engine: Engine, control: ControlNode, work: Path, timings: Timings):
        self.engine = engine
        self.control = control
        self.work = work
        self.timings = timings
        self.reports = {role: RoleReport(role) for role in ROLES}
        self.hosts: list[Host] = []

    def host(self, role: str) -> Host:
        return next(h for h in self.hosts if h.role == role)

    def setup(self) -> Inventory:
        token = secrets.token_hex(16)
        hash_keys = {role: secrets.token_hex(32) for role in ROLES}
        with self.timings.step(TRACK, "boot W, R, ABH systemd hosts and their OpenBao"):
            self.hosts = hostlib.boot(self.engine, ROLES, self.control.ssh_key, self.work / "logs")
            vault_addr, vault_for_hosts = hostlib.start_openbao(self.engine, token)
            _parallel(lambda h: h.install_gateway(self.control.gateway_sim), self.hosts)
            _wait_vault(vault_addr)
        with self.timings.step(TRACK, "vault_provision.yml"):
            _converged(
                provision_vault(self.work, vault_addr, token, hash_keys), "vault_provision.yml"
            )
        inventory = Inventory(self.work, self.control, self.hosts)
        for role in ROLES:
            ids = {
                identity: (self.work / "role-ids" / f"{role.lower()}{suffix}.role-id")
                .read_text()
                .strip()
                for identity, suffix in (
                    ("writer", ""),
                    ("gateway", ".gateway"),
                    ("policy", ".policy"),
                )
            }
            issuer = _issuer_token(vault_addr, token, role)
            inventory.add_secrets(role, ids, issuer, hash_keys[role])
        write_test_vars(self.work, self.control, vault_for_hosts, vault_addr)
        return inventory

    def guard(self, inventory: Inventory) -> None:
        cases = {
            "R": ({"livegate_policy_live_trading_enabled": True}, "LIVE_TRADING_ON_NON_W_HOST"),
            "ABH": (
                {"livegate_policy_allowed_accounts": ["U7654321"]},
                "LIVE_ACCOUNT_ON_NON_W_HOST",
            ),
        }
        with self.timings.step(TRACK, "guard: live settings on R and ABH"):
            plays = _parallel(
                lambda h: inventory.play(
                    h.role,
                    [extra_vars(self.work, f"live-{h.group}", cases[h.role][0])],
                    f"guard-{h.group}",
                ),
                [self.host("R"), self.host("ABH")],
            )
        for play in plays:
            host, reason = self.host(play.role), cases[play.role][1]
            _expect(
                play.returncode != 0 and reason in play.output,
                f"{host.name}: guard did not refuse with {reason}:\n{play.output[-3000:]}",
            )
            _expect(
                play.recap().get("changed") == 0,
                f"{host.name}: the refused play changed {play.recap()}",
            )
            _expect(host.untouched(), f"{host.name}: the refused play left livegate files or users")
            say(TRACK, f"{host.name}: refused with {reason}, changed=0, nothing on the host")

    def converge(self, inventory: Inventory, number: int) -> dict[str, Play]:
        since = time.time()
        with self.timings.step(TRACK, f"site.yml pass {number} on W, R, ABH"):
            plays = _parallel(
                lambda h: inventory.play(h.role, log=f"{h.group}-pass{number}"), self.hosts
            )
        for play in plays:
            host, report = self.host(play.role), self.reports[play.role]
            _converged(play, f"{host.name}: site.yml pass {number}")
            report.changed.append(play.recap()["changed"])
            if number == 1:
                report.converge_s = play.seconds
            say(
                TRACK,
                f"{host.name}: pass {number} in {play.seconds:.1f}s, "
                f"changed={play.recap()['changed']}",
            )
            _one_writer_start(host, since, f"pass {number}")
            _units_active(host)
            if number == 2:
                tasks = play.changed_tasks()
                _expect(
                    tasks == SECOND_PASS,
                    f"{host.name}: pass 2 changed {tasks}, expected only {SECOND_PASS}",
                )
        return {p.role: p for p in plays}

    def verdicts(self) -> None:
        for host in self.hosts:
            verdict = host.writer_verdict()
            self.reports[host.role].verdict = verdict
            _expect(verdict == "MATCHES_ROLE", f"{host.name}: probe verdict {verdict}")
            say(TRACK, f"{host.name}: policy sees its writer, probe {verdict}")

    def config_change_then_demo(self, inventory: Inventory) -> None:
        host = self.host("W")
        change = extra_vars(
            self.work,
            "config-change",
            # The shared broker timeout: both services' configs change, every deadline above it
            # is derived again, and the policy, which refuses to start beside a writer that
            # reports the old value, restarts only after the writer has stopped.
            {"livegate_broker_request_timeout_s": 9, "livegate_writer_log_level": "DEBUG"},
        )
        since = time.time()
        play = inventory.play("W", [change], "w-config-change")
        _converged(play, f"{host.name}: site.yml with a config change")
        tasks = play.changed_tasks()
        for task in (
            "livegate_policy : Render the policy config file",
            "livegate_writer : Render the writer config file",
            "livegate_policy : Stop the writer when the broker timeout changes",
            "livegate_policy : Start the policy service once",
        ):
            _expect(task in tasks, f"{host.name}: the config change did not run {task}: {tasks}")
        _one_writer_start(host, since, "the config-change pass")
        self.reports["W"].notes.append(
            f"config change converged in {play.seconds:.1f}s (changed={play.recap()['changed']})"
        )
        # Right after the green play: the demo opens the kill switch first thing.
        host.put_tree(_demo_pki(self.control.pki, self.work), "/root/demo-pki")
        demo = host.ssh(
            f"{hostlib.VENV_BIN}/livegate demo --target localhost:50051 --pki /root/demo-pki",
            check=False,
            timeout=180,
        )
        for line in demo.stdout.splitlines():
            say(TRACK, f"  W demo: {line}")
        _expect(
            demo.returncode == 0 and "demo passed" in demo.stdout,
            f"the demo failed on {host.name}:\n{demo.stderr[-2000:]}",
        )
        self.reports["W"].notes.append("demo passed on the W host")

    def r_on_trade_capable_gateway(self, inventory: Inventory) -> None:
        host = self.host("R")
        host.install_gateway(self.control.gateway_sim, trade_capable=True)
        since = time.time()
        play = inventory.play("R", log="r-trade-capable")
        _expect(
            play.returncode != 0, f"{host.name}: site.yml passed against a trade-capable gateway"
        )
        for needed in ("WRITER_UNHEALTHY", "exit status 3", "MISMATCH"):
            _expect(
                needed in play.output,
                f"{host.name}: the failed play does not say {needed!r}:\n{play.output[-4000:]}",
            )
        state = host.unit_state("livegate-writer.service")
        _expect(
            state.get("ExecMainStatus") == "3",
            f"{host.name}: the writer ended {state}, expected exit 3",
        )
        _one_writer_start(host, since, "the trade-capable pass")
        lines = play.output.splitlines()
        first = next(i for i, line in enumerate(lines) if "WRITER_UNHEALTHY" in line)
        for line in lines[first : first + 3]:  # the status, the gate's last answer, the probe
            say(TRACK, f"{host.name}: {line.strip()[:1500]}")
        self.reports["R"].notes.append(
            f"trade-capable gateway: play failed, writer exit 3 ({play.seconds:.1f}s)"
        )

    def hardening(self) -> None:
        for host in self.hosts:
            out, scores = host.security()
            self.reports[host.role].security = scores
            if host.role == "W":
                for line in out.splitlines():
                    say(TRACK, f"  W systemd-analyze security: {line}")
            _expect(len(scores) == 2, f"{host.name}: no exposure score in {out[-500:]}")
            say(TRACK, f"{host.name}: exposure {scores}")


def _wait_vault(addr: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{addr}/v1/sys/health", timeout=2).status_code == 200:
                return
        except requests.exceptions.RequestException:
            pass
        time.sleep(0.5)
    raise CheckFailed(f"the hosts' OpenBao did not answer at {addr}")


def _issuer_token(addr: str, root: str, role: str) -> str:
    """A token that may issue secret-ids for this role's AppRole only (livegate-deployer-<role>)."""
    reply = requests.post(
        f"{addr}/v1/auth/token/create",
        headers={"X-Vault-Token": root},
        json={"policies": [f"livegate-deployer-{role.lower()}"], "ttl": "1h"},
        timeout=5,
    )
    reply.raise_for_status()
    return str(reply.json()["auth"]["client_token"])


def _demo_pki(pki: Path, work: Path) -> Path:
    """The callers' identities the demo needs, and nothing of the services'."""
    demo = work / "demo-pki"
    demo.mkdir(exist_ok=True)
    files = ["ca.pem"] + [f"{who}.{ext}" for who in DEMO_CALLERS for ext in ("pem", "key")]
    for name in files:
        shutil.copy2(pki / name, demo / name)
    return demo


def run_hosts(
    engine: Engine, control: ControlNode, work: Path, timings: Timings
) -> dict[str, RoleReport]:
    deployment = Deployment(engine, control, work, timings)
    inventory = deployment.setup()
    deployment.guard(inventory)
    deployment.converge(inventory, 1)
    deployment.verdicts()
    deployment.converge(inventory, 2)
    with timings.step(TRACK, "W: config change + demo; R: trade-capable gateway"):
        with ThreadPoolExecutor(2) as pool:
            done = [
                pool.submit(deployment.config_change_then_demo, inventory),
                pool.submit(deployment.r_on_trade_capable_gateway, inventory),
            ]
            for future in done:
                future.result()
    deployment.hardening()
    return deployment.reports
