"""A real OpenBao dev server on a free loopback port, for tests that cross Vault."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import hvac

from livegate_cli.openbao import dev_server_argv, healthy
from livegate_cli.procs import terminate
from tests.support.net import free_port, wait_until


@dataclass
class DevVault:
    addr: str
    root_token: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, token: str | None = None) -> hvac.Client:
        return hvac.Client(url=self.addr, token=token or self.root_token, timeout=5)

    def seal(self) -> None:
        self.client().sys.seal()
        if not wait_until(lambda: self.client().sys.is_sealed(), timeout_s=10):
            raise RuntimeError("OpenBao did not report sealed")

    def stop(self) -> None:
        terminate(self.process)


@contextmanager
def dev_vault(timeout_s: float = 20.0) -> Iterator[DevVault]:
    """Start `bao server -dev` with a random root token; stop it on exit."""
    port = free_port()
    token = secrets.token_hex(16)
    addr = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="bao-"))
    log_path = workdir / "bao.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            dev_server_argv(port, token),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={"HOME": str(workdir), "PATH": "/usr/bin:/bin"},
        )
    vault = DevVault(addr=addr, root_token=token, process=process, log_path=log_path)
    try:
        if not wait_until(lambda: process.poll() is not None or healthy(addr), timeout_s):
            raise RuntimeError(f"OpenBao did not answer within {timeout_s}s: {log_path}")
        if process.poll() is not None:
            raise RuntimeError(f"OpenBao exited: {log_path.read_text(errors='replace')[-2000:]}")
        yield vault
    finally:
        vault.stop()
        shutil.rmtree(workdir, ignore_errors=True)
