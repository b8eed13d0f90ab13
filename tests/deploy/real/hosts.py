"""Systemd hosts as containers, reached over SSH on a loopback port, as the play reaches them."""

from __future__ import annotations

import io
import json
import re
import shlex
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tests.deploy.real import images
from tests.deploy.real.engine import Engine
from tests.deploy.real.shell import CheckFailed, Result, run
from tests.support.net import free_port

NETWORK: Final = "livegate-deploytest"
VENV_BIN: Final = "/opt/livegate/venv/bin"
# The IB Gateway stand-in of each role: the wheel's simulator, run by the test as a unit.
GATEWAY_ARGS: Final = {
    "W": ["--account", "U1234567"],
    "R": ["--read-only", "--account", "DU111"],
    "ABH": ["--read-only", "--account", "DU222"],
}
GATEWAY_UNIT: Final = """\
[Unit]
Description=IB Gateway stand-in: the livegate gateway simulator (deployment test only)
[Service]
Environment=PYTHONPATH=/opt/ib-gateway-sim PYTHONUNBUFFERED=1
ExecStart=/usr/bin/python3 -m gateway_sim --host 127.0.0.1 --port 4002 {args}
Restart=on-failure
[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class Host:
    name: str
    role: str
    ssh_port: int
    key: Path
    logs: Path

    @property
    def group(self) -> str:
        return self.role.lower()

    def ssh(
        self, command: str, check: bool = True, timeout: float = 120, stdin: bytes | None = None
    ) -> Result:
        argv = [
            "ssh", "-i", str(self.key), "-p", str(self.ssh_port), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "root@127.0.0.1", command,
        ]  # fmt: skip
        return run(
            argv, self.logs / f"ssh-{self.name}.log", check=check, timeout=timeout, stdin=stdin
        )

    def put_tree(self, source: Path, dest: str) -> None:
        """Copy the directory SOURCE to DEST on the host, as a tar stream over SSH."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(source, arcname=".")
        self.ssh(
            f"mkdir -p {shlex.quote(dest)} && tar -C {shlex.quote(dest)} -xf -",
            stdin=buffer.getvalue(),
        )

    def put_file(self, text: str, dest: str, mode: str = "0644") -> None:
        self.ssh(f"install -D -m {mode} /dev/stdin {shlex.quote(dest)}", stdin=text.encode())

    def wait_booted(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.ssh("systemctl is-system-running", check=False, timeout=15)
            if state.stdout.strip() in ("running", "degraded"):
                return
            time.sleep(1)
        raise CheckFailed(f"{self.name} did not finish booting within {timeout_s:.0f}s")

    def install_gateway(self, gateway_sim: Path, trade_capable: bool = False) -> None:
        args = GATEWAY_ARGS[self.role]
        if trade_capable:
            args = [a for a in args if a != "--read-only"]
        self.put_tree(gateway_sim, "/opt/ib-gateway-sim")
        self.put_file(
            GATEWAY_UNIT.format(args=" ".join(args)), "/etc/systemd/system/ib-gateway.service"
        )
        self.ssh(
            "systemctl daemon-reload && systemctl enable ib-gateway.service"
            " && systemctl restart ib-gateway.service"
        )

    def untouched(self) -> bool:
        """Nothing of livegate on the host: what a refused play must leave."""
        found = self.ssh(
            "ls -d /etc/livegate /opt/livegate /var/lib/livegate 2>/dev/null;"
            " id livegate-writer 2>/dev/null",
            check=False,
        )
        return found.stdout.strip() == ""

    def unit_state(self, unit: str) -> dict[str, str]:
        shown = self.ssh(f"systemctl show {unit} --property=ActiveState,Result,ExecMainStatus")
        return dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)

    def starts_since(self, unit: str, since: float) -> int:
        """How many times systemd started UNIT since the epoch SINCE (its journal says)."""
        log = self.ssh(f"journalctl --no-pager -o cat --since @{int(since)} -u {unit}")
        return sum(1 for line in log.stdout.splitlines() if line.startswith(f"Started {unit}"))

    def writer_verdict(self) -> str:
        """The policy's view of its writer (GetLiveStatus, writer.permission), over mTLS."""
        status = self.ssh(
            f"{VENV_BIN}/livegate live-status --target localhost:50051"
            " --pki /etc/livegate/tls --identity policy",
            check=False,
        )
        try:
            conditions = json.loads(status.stdout)["conditions"]
        except (ValueError, KeyError) as exc:
            raise CheckFailed(
                f"{self.name}: live-status unreadable: {status.stdout}{status.stderr}"
            ) from exc
        for condition in conditions:
            if condition["name"] == "writer.permission":
                found = re.search(r"verdict=PROBE_VERDICT_(\w+)", condition.get("detail", ""))
                return (
                    found.group(1)
                    if found and condition.get("passed")
                    else f"not passed: {condition}"
                )
        raise CheckFailed(f"{self.name}: no writer.permission condition in {conditions}")

    def security(self) -> tuple[str, dict[str, str]]:
        out = self.ssh(
            "systemd-analyze security --no-pager livegate-policy.service livegate-writer.service"
        ).stdout
        scores = dict(
            re.findall(r"Overall exposure level for (\S+?)\.service: (\d+\.\d+ \S+)", out)
        )
        return out, scores


def boot(engine: Engine, roles: tuple[str, ...], key: Path, logs: Path) -> list[Host]:
    engine.podman("network", "create", NETWORK, log="hosts")
    hosts = []
    for role in roles:
        host = Host(f"livegate-{role.lower()}1", role, free_port(), key, logs)
        engine.podman(
            "run", "--detach", "--name", host.name, "--hostname", host.name, "--network", NETWORK,
            "--systemd=always", "--cap-add", "SYS_ADMIN",
            "--publish", f"127.0.0.1:{host.ssh_port}:22",
            "--volume", f"{key}.pub:/root/.ssh/authorized_keys:ro",
            images.HOST, log="hosts",
        )  # fmt: skip
        hosts.append(host)
    for host in hosts:
        host.wait_booted()
    return hosts


def start_openbao(engine: Engine, root_token: str) -> tuple[str, str]:
    """The hosts' OpenBao (dev server, the stand-in image): (address for the control node,
    address for the hosts)."""
    port = free_port()
    # The root token goes through the environment, never onto a command line.
    engine.podman(
        "run", "--detach", "--name", "livegate-openbao", "--network", NETWORK,
        "--publish", f"127.0.0.1:{port}:8200", "--env", "BAO_DEV_ROOT_TOKEN_ID", images.OPENBAO,
        log="hosts", env={"BAO_DEV_ROOT_TOKEN_ID": root_token},
    )  # fmt: skip
    return f"http://127.0.0.1:{port}", "http://livegate-openbao:8200"
