"""The deployment's health probe (livegate-health) against a real mTLS server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc

from livegate_common.server import mark_serving
from tests.deploy.ansible_run import ANSIBLE_DIR
from tests.deploy.conftest import WRITER_SERVICE as SERVICE

PROBE = ANSIBLE_DIR / "roles/livegate/files/livegate_health.py"
FAKE = Path(__file__).with_name("fake_systemd.py")


def _probe(
    dev_pki: Path,
    port: int,
    identity: str = "policy",
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
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
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
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


def _failed_unit(tmp: Path, status: str) -> dict[str, str]:
    """PATH and state for tests/deploy/fake_systemd.py: the writer's unit exited with STATUS."""
    bin_dir, state, units = tmp / "bin", tmp / "state", tmp / "units"
    for directory in (bin_dir, state, units):
        directory.mkdir()
    (bin_dir / "systemctl").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" systemctl "$@"\n'
    )
    (bin_dir / "systemctl").chmod(0o755)
    (units / "livegate-writer.service").write_text("[Service]\n")
    (state / "units.json").write_text(
        json.dumps({"livegate-writer.service": {
            "ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": status,
        }})
    )  # fmt: skip
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_SYSTEMD_DIR": str(state),
        "FAKE_SYSTEMD_UNIT_DIR": str(units),
    }


def test_probe_when_unit_exited_for_good_then_stops_waiting_and_says_how(
    writer_like: tuple[grpc.Server, int, object], dev_pki: Path, tmp_path: Path
) -> None:
    _, port, _ = writer_like
    started = time.monotonic()
    result = _probe(
        dev_pki,
        port,
        extra=("--wait", "30", "--unit", "livegate-writer.service"),
        env=_failed_unit(tmp_path, "3"),
    )
    assert result.returncode == 3
    assert "UNIT_DOWN livegate-writer.service state=failed result=exit-code exit_status=3" in (
        result.stderr
    )
    assert time.monotonic() - started < 15  # not the 30 s the wait allows


def test_probe_when_waiting_and_never_serving_then_exit_one_at_the_deadline(
    writer_like: tuple[grpc.Server, int, object], dev_pki: Path
) -> None:
    _, port, _ = writer_like
    started = time.monotonic()
    result = _probe(dev_pki, port, extra=("--wait", "2", "--interval", "0.5"))
    assert result.returncode == 1
    assert result.stdout.strip() == "NOT_SERVING"
    assert time.monotonic() - started >= 2
