"""Optional sampling profiles of the child processes (py-spy), when BENCH_PROFILE_DIR is set."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.procs import Proc


@contextmanager
def profiled(procs: list[Proc], label: str) -> Iterator[None]:
    """Record py-spy raw (collapsed) stacks of PROCS while the block runs; no-op without py-spy."""
    target = os.environ.get("BENCH_PROFILE_DIR", "")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not target or not Path(spy).exists():
        yield
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    recorders = [
        subprocess.Popen(
            [
                spy,
                "record",
                "-p",
                str(p.process.pid),
                "-f",
                "raw",
                "-r",
                "250",
                "--nonblocking",
                "--gil",  # only threads holding the GIL: where Python CPU goes
                "-o",
                str(Path(target) / f"{label}-{p.name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in procs
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for recorder in recorders:
            try:
                recorder.wait(timeout=20)
            except subprocess.TimeoutExpired:
                recorder.kill()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds PID has used so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_split(
    procs: list[Proc], before: dict[str, tuple[float, float]], seconds: float, count: int
) -> str:
    """Each process's CPU over the run, as ms per submit: where the two cores went."""
    per = 1000 / max(count, 1)
    parts = []
    for p in procs:
        user, system = cpu_seconds(p.process.pid)
        user, system = user - before[p.name][0], system - before[p.name][1]
        parts.append(f"{p.name} {(user + system) * per:.2f} ({system * per:.2f} sys)")
    client = os.times()
    user, system = client.user - before["client"][0], client.system - before["client"][1]
    parts.append(f"client {(user + system) * per:.2f} ({system * per:.2f} sys)")
    return f"CPU ms per submit: {', '.join(parts)} (wall {seconds * per:.2f})"


def cpu_snapshot(procs: list[Proc]) -> dict[str, tuple[float, float]]:
    snap = {p.name: cpu_seconds(p.process.pid) for p in procs}
    client = os.times()
    snap["client"] = (client.user, client.system)
    return snap
