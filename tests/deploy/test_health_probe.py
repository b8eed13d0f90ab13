"""The deployment's health probe (livegate-health) against a real mTLS server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc

from livegate_common.server import mark_serving
from tests.deploy.ansible_run import ANSIBLE_DIR
from tests.deploy.conftest import WRITER_SERVICE as SERVICE

PROBE = ANSIBLE_DIR / "roles/livegate/files/livegate_health.py"


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
    writer_like: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    _, port, health = writer_like
    mark_serving(health, [SERVICE], True)  # type: ignore[arg-type]
    result = _probe(dev_pki, port)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SERVING"


def test_probe_when_service_not_serving_then_exit_one(
    writer_like: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    _, port, _ = writer_like
    result = _probe(dev_pki, port)
    assert result.returncode == 1
    assert result.stdout.strip() == "NOT_SERVING"


def test_probe_when_identity_unmapped_then_exit_one(
    writer_like: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    _, port, health = writer_like
    mark_serving(health, [SERVICE], True)  # type: ignore[arg-type]
    result = _probe(dev_pki, port, identity="upstream")
    assert result.returncode == 1
    assert "UNHEALTHY" in result.stderr


def test_probe_when_nothing_listens_then_exit_one(
    writer_like: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    srv, port, _ = writer_like
    srv.stop(0).wait(5)
    result = _probe(dev_pki, port)
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr
