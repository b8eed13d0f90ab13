"""Optional sampling profiles of the child processes (py-spy), when BENCH_PROFILE_DIR is set."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bench.procs import Proc

# The throughput target: what the CPU budget line measures the run against.
TARGET_PER_S = 500


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


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): state is field 0."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds PID has used so far (all its threads), from /proc."""
    fields = _stat_fields(pid)
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _stat_times(pid: int) -> tuple[int, int, int]:
    """(parent pid, user + children's user ticks, system + children's system ticks) of PID."""
    fields = _stat_fields(pid)
    return int(fields[1]), int(fields[11]) + int(fields[13]), int(fields[12]) + int(fields[14])


def postgres_cpu(datadir: Path) -> Callable[[], tuple[float, float]]:
    """CPU seconds (user, system) of the cluster in DATADIR: postmaster and all its processes.

    Backends and auxiliary processes are the postmaster's children. A child that exits during
    the run is reaped by the postmaster, which adds its CPU to its own children's times, so
    counting the postmaster's own and children's times plus each live child's keeps the sum
    steady when connections come and go.
    """
    postmaster = int((datadir / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")

    def sample() -> tuple[float, float]:
        _, user, system = _stat_times(postmaster)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent, child_user, child_system = _stat_times(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # exited while we looked: the postmaster's times now hold it
            if parent == postmaster:
                user, system = user + child_user, system + child_system
        return user / tick, system / tick

    return sample


def cpu_split(
    procs: list[Proc],
    before: dict[str, tuple[float, float]],
    seconds: float,
    count: int,
    extra: Mapping[str, Callable[[], tuple[float, float]]] | None = None,
) -> str:
    """Each process's CPU over the run, as ms per submit: where the two cores went.

    EXTRA names further CPU sources (e.g. the PostgreSQL cluster) sampled as by cpu_snapshot.
    """
    per = 1000 / max(count, 1)
    parts = []
    total = 0.0
    for name, (user, system) in cpu_snapshot(procs, extra).items():
        user, system = user - before[name][0], system - before[name][1]
        total += (user + system) * per
        parts.append(f"{name} {(user + system) * per:.2f} ({system * per:.2f} sys)")
    cores = os.cpu_count() or 1
    return (
        f"CPU ms per submit: {', '.join(parts)} (wall {seconds * per:.2f})\n"
        f"  all of them: {total:.2f} ms per submit; {TARGET_PER_S}/s on {cores} CPUs "
        f"allows {cores * 1000 / TARGET_PER_S:.2f}"
    )


def cpu_snapshot(
    procs: list[Proc], extra: Mapping[str, Callable[[], tuple[float, float]]] | None = None
) -> dict[str, tuple[float, float]]:
    snap = {p.name: cpu_seconds(p.process.pid) for p in procs}
    snap.update({name: sample() for name, sample in (extra or {}).items()})
    client = os.times()
    snap["client"] = (client.user, client.system)
    return snap
