"""The benchmark's processes: simulator, writer and policy replicas, each its own interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from livegate_cli.procs import terminate
from livegate_common.pki import init_dev_pki
from livegate_common.vault_layout import provision
from tests.support.net import free_port
from tests.support.vault import DevVault, dev_vault

PYTHON = sys.executable


def bench_home(cleanup: ExitStack, prefix: str) -> tuple[Path, Path, DevVault]:
    """A temporary directory, a dev PKI in it and a provisioned OpenBao, gone with CLEANUP."""
    workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    pki = workdir / "pki"
    init_dev_pki(pki)
    vault = cleanup.enter_context(dev_vault())
    provision(vault.client())
    return workdir, pki, vault


@dataclass
class Proc:
    """A child process with its log file; stop() terminates it and waits, bounded."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int
    _log: TextIO | None = field(default=None, repr=False)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        terminate(self.process)


def _spawn(
    name: str, argv: list[str], workdir: Path, port: int, cpus: frozenset[int] = frozenset()
) -> Proc:
    log_path = workdir / f"{name}.log"

    def pin() -> None:  # in the child, before it runs Python
        if cpus:
            os.sched_setaffinity(0, cpus)

    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            argv, stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir, preexec_fn=pin
        )
    return Proc(name, process, log_path, port)


def wait_for(proc: Proc, ready: Callable[[str], bool], timeout_s: float) -> float:
    """Seconds until READY(log text) holds; raises with the log tail if the child dies or stalls."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if ready(proc.log_text()):
            return time.monotonic() - start
        if proc.process.poll() is not None:
            code = proc.process.returncode
            raise RuntimeError(f"{proc.name} exited {code}: {proc.log_text()[-3000:]}")
        time.sleep(0.005)
    proc.stop()
    raise RuntimeError(f"{proc.name} not ready within {timeout_s}s: {proc.log_text()[-3000:]}")


def start_sim(
    workdir: Path, account: str, name: str = "gateway-sim", cpus: frozenset[int] = frozenset()
) -> Proc:
    argv = [
        PYTHON, "-m", "gateway_sim", "--port", "0", "--account", account,
        "--quote", "AAPL=189.20:189.30:189.25", "--quote", "SPY=500.00:500.10:500.05",
        "--log-level", "WARNING",
    ]  # fmt: skip
    proc = _spawn(name, argv, workdir, 0, cpus)
    wait_for(proc, lambda text: '"listening"' in text, 20)
    for line in proc.log_text().splitlines():
        if '"listening"' in line:
            proc.port = int(json.loads(line)["port"])
    return proc


def _serving(text: str) -> bool:
    return '"msg":"serving"' in text


def start_service(
    name: str, module: str, doc: dict[str, Any], workdir: Path, timeout_s: float = 60
) -> tuple[Proc, float]:
    """Write DOC as the config, listen on a free loopback port, return (proc, seconds to serve)."""
    port = free_port()
    doc["server"]["listen"] = f"127.0.0.1:{port}"
    config = workdir / f"{name}.yaml"
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    proc = _spawn(name, [PYTHON, "-m", module, "--config", str(config)], workdir, port)
    return proc, wait_for(proc, _serving, timeout_s)
