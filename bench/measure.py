"""Timing helpers: percentiles, and a bounded pool of client threads driving one call each."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of SAMPLES (pct in 0..100)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    mean_ms: float
    count: int
    p95_ms: float = float("nan")

    def line(self) -> str:
        return (
            f"p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms  "
            f"mean {self.mean_ms:7.2f} ms  (n={self.count})"
        )


def latency(samples_s: Sequence[float]) -> Latency:
    ms = [s * 1000 for s in samples_s]
    return Latency(
        percentile(ms, 50), percentile(ms, 99), statistics.fmean(ms), len(ms), percentile(ms, 95)
    )


def timed_sequence(items: Sequence[T], call: Callable[[T], object]) -> list[float]:
    """Call CALL on each item one after the other; the seconds each call took."""
    out = []
    for item in items:
        start = time.perf_counter()
        call(item)
        out.append(time.perf_counter() - start)
    return out


@dataclass(frozen=True)
class Throughput:
    done: int
    failed: int
    seconds: float
    errors: tuple[str, ...]

    @property
    def per_s(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def run_concurrently(items: Sequence[T], call: Callable[[T], object], threads: int) -> Throughput:
    """Drive every item through CALL from THREADS client threads; wall time of the whole batch."""
    errors: list[str] = []
    lock = threading.Lock()
    done = 0

    def one(item: T) -> None:
        nonlocal done
        try:
            call(item)
        except Exception as exc:  # counted and shown; the invariant check decides pass/fail
            with lock:
                errors.append(repr(exc)[:200])
            return
        with lock:
            done += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, items))
    seconds = time.perf_counter() - start
    return Throughput(done, len(errors), seconds, tuple(errors[:5]))
