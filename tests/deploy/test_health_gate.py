"""The writer role's health gate: the play fails unless the writer reports SERVING over mTLS and
the policy service reaches it (GetLiveStatus writer.permission), as the kill switch needs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from livegate_api.v1 import policy_pb2, policy_pb2_grpc
from livegate_common.config import ServerConfig
from livegate_common.identity import PrincipalMap
from livegate_common.pki import spiffe_id
from livegate_common.server import create_server, mark_serving
from livegate_common.tls import TLSFiles
from tests.deploy.ansible_run import PlayResult, health_venv, run_playbook, write_yaml
from tests.deploy.conftest import WRITER_SERVICE as SERVICE
from tests.support.net import free_port

REACHED = "verdict=PROBE_VERDICT_MATCHES_ROLE broker_connected=true"
UNREACHED = "writer unreachable (UNAVAILABLE : failed to connect)"


class LiveStatusOnly(policy_pb2_grpc.PolicyServiceServicer):  # type: ignore[misc]
    """GetLiveStatus as the policy answers it, with the writer condition the test sets."""

    def __init__(self) -> None:
        self.writer_reached = False

    def GetLiveStatus(
        self, request: policy_pb2.GetLiveStatusRequest, context: grpc.ServicerContext
    ) -> policy_pb2.LiveStatus:
        reached = self.writer_reached
        condition = policy_pb2.EnablementCondition(
            name="writer.permission", passed=reached, detail=REACHED if reached else UNREACHED
        )
        return policy_pb2.LiveStatus(live_enabled=False, conditions=[condition])


@pytest.fixture
def policy_like(dev_pki: Path) -> Iterator[tuple[int, LiveStatusOnly]]:
    """A server that answers health and GetLiveStatus to the policy's own identity."""
    servicer = LiveStatusOnly()
    tls = TLSFiles(dev_pki / "ca.pem", dev_pki / "policy.pem", dev_pki / "policy.key")
    principals = PrincipalMap({"deploy-health": ([spiffe_id("policy")], [])})
    srv, port, health = create_server(
        ServerConfig("127.0.0.1:0", tls),
        principals,
        [lambda s: policy_pb2_grpc.add_PolicyServiceServicer_to_server(servicer, s)],
        ["livegate.v1.PolicyService"],
    )
    srv.start()
    mark_serving(health, ["livegate.v1.PolicyService"], True)
    try:
        yield port, servicer
    finally:
        srv.stop(0).wait(5)


def _run_health_gate(tmp: Path, dev_pki: Path, writer_port: int, policy_port: int) -> PlayResult:
    """Run only the writer role's health tasks, with a venv layout made of this interpreter."""
    venv = health_venv(tmp)
    inventory = tmp / "hosts.yml"
    write_yaml(inventory, {"all": {"hosts": {"w1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
    }}}})  # fmt: skip
    playbook = tmp / "health_gate.yml"
    playbook.write_text(
        "- hosts: all\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role:\n"
        "        name: livegate_writer\n"
        "        tasks_from: health\n",
        encoding="utf-8",
    )
    extra = tmp / "vars.yml"
    write_yaml(
        extra,
        {
            "livegate_role": "W",
            "livegate_venv": str(venv),
            "livegate_tls_dir": str(dev_pki),
            "livegate_writer_health_target": f"127.0.0.1:{writer_port}",
            "livegate_policy_health_target": f"127.0.0.1:{policy_port}",
            "livegate_policy_health_server_name": "localhost",
            "livegate_writer_health_wait_s": 2,
        },
    )
    return run_playbook(tmp, str(playbook), inventory, extra_vars_files=[extra])


def _serving(writer_like: tuple[grpc.Server, int, object]) -> int:
    _, port, health = writer_like
    mark_serving(health, [SERVICE], True)  # type: ignore[arg-type]
    return port


def test_deploy_when_writer_serving_and_policy_reaches_it_then_health_gate_passes(
    tmp_path: Path,
    dev_pki: Path,
    writer_like: tuple[grpc.Server, int, object],
    policy_like: tuple[int, LiveStatusOnly],
) -> None:
    policy_port, policy = policy_like
    policy.writer_reached = True
    result = _run_health_gate(tmp_path, dev_pki, _serving(writer_like), policy_port)
    assert result.returncode == 0, result.output[-4000:]
    assert "failed=0" in result.output


def test_deploy_when_writer_serving_but_policy_does_not_reach_it_then_play_fails(
    tmp_path: Path,
    dev_pki: Path,
    writer_like: tuple[grpc.Server, int, object],
    policy_like: tuple[int, LiveStatusOnly],
) -> None:
    # What a green play used to leave: a kill switch that cannot open for a few seconds more.
    policy_port, _ = policy_like
    result = _run_health_gate(tmp_path, dev_pki, _serving(writer_like), policy_port)
    assert result.returncode != 0
    assert "WRITER_UNHEALTHY" in result.output
    assert "writer.permission failed" in result.output


def test_deploy_when_writer_not_serving_then_play_fails_writer_unhealthy(
    tmp_path: Path,
    dev_pki: Path,
    writer_like: tuple[grpc.Server, int, object],
    policy_like: tuple[int, LiveStatusOnly],
) -> None:
    # Started but never marked SERVING: what a writer whose probe has not passed looks like.
    _, port, _ = writer_like
    policy_port, policy = policy_like
    policy.writer_reached = True
    result = _run_health_gate(tmp_path, dev_pki, port, policy_port)
    assert result.returncode != 0
    assert "WRITER_UNHEALTHY" in result.output


def test_deploy_when_writer_down_then_play_fails_writer_unhealthy(
    tmp_path: Path, dev_pki: Path, policy_like: tuple[int, LiveStatusOnly]
) -> None:
    policy_port, policy = policy_like
    policy.writer_reached = True
    result = _run_health_gate(tmp_path, dev_pki, free_port(), policy_port)
    assert result.returncode != 0
    assert "WRITER_UNHEALTHY" in result.output
