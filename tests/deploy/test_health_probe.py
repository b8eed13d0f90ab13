"""The deployment's health probe (livegate-health) against a real mTLS server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from livegate_common.config import ServerConfig
from livegate_common.identity import PrincipalMap
from livegate_common.pki import spiffe_id
from livegate_common.server import create_server, mark_serving
from livegate_common.tls import TLSFiles
from tests.deploy.ansible_run import ANSIBLE_DIR

PROBE = ANSIBLE_DIR / "roles/livegate/files/livegate_health.py"
SERVICE = "livegate.v1.WriterService"


@pytest.fixture
def server(dev_pki: Path) -> Iterator[tuple[grpc.Server, int, object]]:
    # Like the writer: only the policy identity is mapped.
    tls = TLSFiles(dev_pki / "ca.pem", dev_pki / "writer.pem", dev_pki / "writer.key")
    principals = PrincipalMap({"policy": ([spiffe_id("policy")], ["writer.call"])})
    srv, port, health = create_server(ServerConfig("127.0.0.1:0", tls), principals, [], [SERVICE])
    srv.start()
    try:
        yield srv, port, health
    finally:
        srv.stop(0).wait(5)


def _probe(dev_pki: Path, port: int, identity: str = "policy") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(PROBE),
            "--target",
            f"127.0.0.1:{port}",
            "--service",
            SERVICE,
            "--server-name",
            "localhost",
            "--ca",
            str(dev_pki / "ca.pem"),
            "--cert",
            str(dev_pki / f"{identity}.pem"),
            "--key",
            str(dev_pki / f"{identity}.key"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_probe_when_service_serving_then_exit_zero(
    server: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    _, port, health = server
    mark_serving(health, [SERVICE], True)  # type: ignore[arg-type]
    result = _probe(dev_pki, port)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SERVING"


def test_probe_when_service_not_serving_then_exit_one(
    server: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    _, port, _ = server
    result = _probe(dev_pki, port)
    assert result.returncode == 1
    assert result.stdout.strip() == "NOT_SERVING"


def test_probe_when_identity_unmapped_then_exit_one(
    server: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    _, port, health = server
    mark_serving(health, [SERVICE], True)  # type: ignore[arg-type]
    result = _probe(dev_pki, port, identity="upstream")
    assert result.returncode == 1
    assert "UNHEALTHY" in result.stderr


def test_probe_when_nothing_listens_then_exit_one(
    server: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    srv, port, _ = server
    srv.stop(0).wait(5)
    result = _probe(dev_pki, port)
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr
