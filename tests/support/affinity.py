"""The CPUs each thread of a running process may use, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def thread_cpus(pid: int) -> dict[int, frozenset[int]]:
    """{thread id: its allowed CPUs} for every thread of PID."""
    found: dict[int, frozenset[int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = frozenset(os.sched_getaffinity(int(task.name)))
        except ProcessLookupError:
            continue  # the thread ended meanwhile
    return found


def one_cpu() -> int:
    """A CPU this test process may use (the highest: not where a machine's first work goes)."""
    return max(os.sched_getaffinity(0))
