"""Which CPUs each benchmark process runs on: the deployment's pinning, on this machine.

A service is one Python interpreter: it runs on one core at a time whatever its thread count,
so a deployment pins it (server.cpus, livegate_common.cpus). The benchmark does the same, one
policy replica per core in turn, the writer and the simulator together on the last core, and
the client where the fewest replicas run. --no-pin leaves every process floating, to compare.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from livegate_common import cpus as cpus_module

NONE: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Layout:
    cores: tuple[int, ...]  # empty: nothing is pinned

    @classmethod
    def for_machine(cls, pin: bool) -> Layout:
        cores = tuple(sorted(os.sched_getaffinity(0)))
        return cls(cores if pin and len(cores) >= 2 else ())

    def policy(self, replica: int) -> frozenset[int]:
        return self._core(replica)

    def broker_side(self) -> frozenset[int]:
        """The writer and the simulator: one core, next to each other as on the W host."""
        return self._core(-1)

    def client(self, replicas: int) -> frozenset[int]:
        return self._core(replicas)

    def _core(self, index: int) -> frozenset[int]:
        """The INDEXth core, round the machine's cores; nothing when nothing is pinned."""
        return frozenset({self.cores[index % len(self.cores)]}) if self.cores else NONE

    def describe(self, replicas: int) -> str:
        if not self.cores:
            return "not pinned: every process floats over every CPU (--no-pin, or one CPU)"
        policies = ", ".join(f"replica {i} on CPU {min(self.policy(i))}" for i in range(replicas))
        return (
            f"pinned (server.cpus): policy {policies}; writer and simulator on CPU "
            f"{min(self.broker_side())}; client on CPU {min(self.client(replicas))}"
        )


@contextmanager
def client_on(cpus: frozenset[int]) -> Iterator[None]:
    """This process (the client) and the threads it starts in the block on CPUS; floats after,
    so what it starts later (PostgreSQL) floats too."""
    before = frozenset(os.sched_getaffinity(0))
    cpus_module.pin(cpus)
    try:
        yield
    finally:
        cpus_module.pin(before)


@contextmanager
def floating(pids: list[int], cpus: frozenset[int]) -> Iterator[None]:
    """Every thread of PIDS may run on any of CPUS during the block; pinned as before after.

    The same processes, warmed up, measured both ways: the baseline the pinned figure is a
    ratio of. After the block every thread gets its process's main-thread CPUs back.
    """
    saved = {pid: frozenset(os.sched_getaffinity(pid)) for pid in pids}
    for pid in pids:
        cpus_module.pin(cpus, pid)
    try:
        yield
    finally:
        for pid, own in saved.items():
            cpus_module.pin(own, pid)
