"""The services as real processes (console scripts, YAML config), so a test can SIGKILL them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from livegate_cli.procs import terminate
from tests.support.grpc_clients import channel_as
from tests.support.net import wait_until

BIN_DIR = Path(sys.executable).parent


@dataclass
class ServiceProcess:
    """One running console script; its JSON log lines go to log_path."""

    script: str
    config_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL: no drain, no cleanup, as a crash or an OOM kill would end it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        terminate(self.process)

    def wait(self, timeout_s: float) -> int:
        return self.process.wait(timeout=timeout_s)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]


def spawn(script: str, doc: dict[str, Any], workdir: Path, name: str) -> ServiceProcess:
    """Write DOC as NAME.yaml in WORKDIR and start SCRIPT --config on it."""
    config_path = workdir / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    log_path = workdir / f"{name}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [str(BIN_DIR / script), "--config", str(config_path)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return ServiceProcess(script, config_path, log_path, process)


def serving(pki: Path, identity: str, port: int, service: str) -> bool:
    """Whether the server on PORT answers its health check for SERVICE as SERVING."""
    channel = channel_as(pki, identity, port)
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=1
        )
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False
    finally:
        channel.close()


def wait_serving(
    proc: ServiceProcess, pki: Path, identity: str, port: int, service: str, timeout_s: float = 20
) -> None:
    """Wait until PROC serves SERVICE on PORT, or fail with the tail of its log."""
    ready = wait_until(
        lambda: proc.process.poll() is not None or serving(pki, identity, port, service),
        timeout_s=timeout_s,
        interval_s=0.1,
    )
    if not ready or proc.process.poll() is not None:
        proc.stop()
        raise AssertionError(f"{proc.script} is not serving on {port}:\n{proc.log_tail()}")
