"""The gateway's API port is reachable from its host only: the play's nftables rules, for real.

The rules each role's render holds are checked by `nft -c`, then applied inside a network
namespace this test creates, with the simulator listening on every address there (as IB Gateway
does) and a second namespace joined by a veth pair: before the rules both sides connect (the
test could fail), after them loopback still connects and the other namespace times out. Needs
root, nftables and iproute2 (scripts/bootstrap installs them); it fails, never skips, without.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import Render
from tests.support.gateways import ProcessLog

PROBE = Path(__file__).resolve().parents[1] / "support" / "tcp_probe.py"
RULES = "etc/livegate/nftables/gateway.nft"
GATEWAY_ADDR = "10.231.0.1"
PEER_ADDR = "10.231.0.2"
ATTEMPTS = 3
TIMEOUT_S = 1.0


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.path.exists(p)), None
    )
    if found is None:
        pytest.fail(
            f"{name} is missing: run scripts/bootstrap --postgres (installs nftables, iproute2)"
        )
    return found


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def _must(*argv: str) -> str:
    result = _run(*argv)
    assert result.returncode == 0, f"{argv}: {result.stderr}"
    return result.stdout


@dataclass
class Namespaces:
    gateway: str
    peer: str
    ip: str
    nft: str

    def exec(self, ns: str, *argv: str) -> list[str]:
        return [self.ip, "netns", "exec", ns, *argv]

    def probe(self, ns: str, host: str, port: int) -> dict[str, Any]:
        argv = [sys.executable, str(PROBE), host, str(port), "--attempts", str(ATTEMPTS)]
        out = _must(*self.exec(ns, *argv, "--timeout", str(TIMEOUT_S)))
        return dict(json.loads(out))


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    """Two fresh namespaces joined by a veth pair; both removed afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the firewall test creates network namespaces: run it as root (CI does)")
    ip, nft = _tool("ip"), _tool("nft")
    tag = f"{os.getpid() % 100000}"
    ns = Namespaces(f"lg-gw-{tag}", f"lg-peer-{tag}", ip, nft)
    veth_gw, veth_peer = f"lgg{tag}", f"lgp{tag}"
    try:
        _must(ip, "netns", "add", ns.gateway)
        _must(ip, "netns", "add", ns.peer)
        _must(ip, "link", "add", veth_gw, "type", "veth", "peer", "name", veth_peer)
        _must(ip, "link", "set", veth_gw, "netns", ns.gateway)
        _must(ip, "link", "set", veth_peer, "netns", ns.peer)
        for name, veth, addr in (
            (ns.gateway, veth_gw, GATEWAY_ADDR),
            (ns.peer, veth_peer, PEER_ADDR),
        ):
            _must(ip, "-n", name, "addr", "add", f"{addr}/30", "dev", veth)
            _must(ip, "-n", name, "link", "set", veth, "up")
            _must(ip, "-n", name, "link", "set", "lo", "up")
        yield ns
    finally:
        # Deleting a namespace deletes its end of the veth pair, and with it the other end.
        _run(ip, "netns", "del", ns.gateway)
        _run(ip, "netns", "del", ns.peer)


def _port(rules: str) -> int:
    match = re.search(r'iif "lo" tcp dport (\d+) accept', rules)
    assert match, rules
    return int(match.group(1))


def _outcomes(probe: dict[str, Any]) -> list[str]:
    return [r["outcome"] for r in probe["results"]]


def _show(stage: str, who: str, probe: dict[str, Any]) -> None:
    timings = ", ".join(f"{r['outcome']} in {r['ms']} ms" for r in probe["results"])
    print(f"  {stage:<13} from {who:<9} -> {probe['target']}: {timings}")


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_nft_when_rendered_rules_checked_then_nft_accepts_them(
    renders: dict[str, Render], role: str, namespaces: Namespaces
) -> None:
    path = renders[role].root / RULES
    # In a namespace of its own: checking touches nothing on the test host.
    result = _run(*namespaces.exec(namespaces.gateway, namespaces.nft, "-c", "-f", str(path)))
    assert result.returncode == 0, result.stderr
    rules = path.read_text(encoding="utf-8")
    assert _port(rules) == (4001 if role == "W" else 4002)
    assert f"instance role {role}:" in rules


@pytest.mark.parametrize("role", ["W", "R", "ABH"])
def test_nft_when_rules_applied_then_port_answers_loopback_only(
    renders: dict[str, Render], role: str, namespaces: Namespaces
) -> None:
    path = renders[role].root / RULES
    port = _port(path.read_text(encoding="utf-8"))
    argv = [sys.executable, "-m", "gateway_sim", "--host", "0.0.0.0", "--port", str(port)]
    gateway = ProcessLog.start(namespaces.exec(namespaces.gateway, *argv))
    try:
        assert gateway.wait_for(lambda r: r.get("event") == "listening", 20), gateway.text()
        before = {
            "loopback": namespaces.probe(namespaces.gateway, "127.0.0.1", port),
            "other ns": namespaces.probe(namespaces.peer, GATEWAY_ADDR, port),
        }
        _must(*namespaces.exec(namespaces.gateway, namespaces.nft, "-f", str(path)))
        after = {
            "loopback": namespaces.probe(namespaces.gateway, "127.0.0.1", port),
            "other ns": namespaces.probe(namespaces.peer, GATEWAY_ADDR, port),
        }
        table = _must(
            *namespaces.exec(
                namespaces.gateway, namespaces.nft, "list", "table", "inet", "livegate_gateway"
            )
        )
    finally:
        gateway.stop()
    dropped = re.search(r"counter packets (\d+) bytes \d+ drop", table)
    print(f"\nrole {role}, API port {port}, {ATTEMPTS} attempts each, {TIMEOUT_S} s bound:")
    for stage, probes in (("before rules", before), ("after rules", after)):
        for who, probe in probes.items():
            _show(stage, who, probe)
    print(f"  drop counter after: {dropped.group(1) if dropped else '?'} packets")
    # Before: both connect, so the test can tell a firewall from an unreachable port.
    assert _outcomes(before["loopback"]) == ["connected"] * ATTEMPTS
    assert _outcomes(before["other ns"]) == ["connected"] * ATTEMPTS
    assert _outcomes(after["loopback"]) == ["connected"] * ATTEMPTS
    assert _outcomes(after["other ns"]) == ["timed out"] * ATTEMPTS
    assert dropped is not None and int(dropped.group(1)) >= ATTEMPTS
