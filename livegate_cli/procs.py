"""Child processes of the local stack: started with logs to files, stopped with nothing left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def terminate(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, wait up to GRACE_S, then SIGKILL; returns once the process is reaped."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace_s)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Supervisor:
    """Owns every process it started; stop() ends them in reverse order, then kills stragglers."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
            )
        child = Child(name=name, process=process, log_path=log_path)
        self.children.append(child)
        # A record of every pid started, so a test (or a worried operator) can prove none is left.
        with (self.log_dir / "pids").open("a") as pids:
            pids.write(f"{name} {process.pid}\n")
        return child

    def check_alive(self) -> list[str]:
        return [c.name for c in self.children if c.process.poll() is not None]

    def stop(self, grace_s: float = 8.0) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait(timeout=5)
        self.children.clear()
