"""Pins a service process, every thread of it, to the CPUs its config names (server.cpus).

A livegate service runs Python on one core at a time (the GIL) but keeps some thirty threads:
gRPC's poller and workers, the broker loop, the database. Left to float, those threads wake
each other across cores at every GIL hand-off, and on a small host that cross-core traffic
costs more CPU than the work (measured in bench/run.py: nearly twice the CPU per submit on a
2-core host). Pinning each service to its own core(s) keeps the hand-offs on one core.
"""

from __future__ import annotations

import os

from livegate_common.config import CPUS_KEY, ConfigError


def pin(cpus: frozenset[int], pid: int | None = None) -> None:
    """Pin every thread of process PID (this one by default) to CPUS; threads it starts later
    inherit the pin.

    Raises ConfigError when none of CPUS can be used: a service asked to pin must not run
    unpinned without saying so.
    """
    if not cpus:
        return
    try:
        threads = [int(t) for t in os.listdir(f"/proc/{pid or 'self'}/task")]
    except OSError:
        threads = [pid or 0]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            continue  # the thread ended meanwhile
        except OSError as exc:
            reason = f"cannot pin to CPUs {sorted(cpus)}: {exc.strerror}"
            raise ConfigError(CPUS_KEY, reason) from exc
