"""The benchmark still runs end to end and prints its contract (figures are not asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "gate_p50_ms", "gate_p99_ms", "direct_p50_ms", "direct_p99_ms", "submits_per_s_sqlite",
    "submits_per_s_postgres_2_replicas", "killswitch_close_ms", "writer_cold_start_s",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_bench_when_run_small_then_invariants_hold_and_last_line_has_every_key() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--latency-n", "20",
         "--throughput-n", "100", "--threads", "8", "--switch-n", "3"],
        capture_output=True, text=True, timeout=230, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) == KEYS
    assert all(isinstance(v, int | float) and v > 0 for v in figures.values())
    pinned = len(os.sched_getaffinity(0)) >= 2  # one CPU: nothing to pin, no floating baseline
    # SQLite pinned, its floating baseline, PostgreSQL: each run's invariants were checked.
    assert result.stdout.count("invariants: OK") == (3 if pinned else 2)
    assert ("pinned / floating:" in result.stdout) is pinned
    # The latency's split into the path's floor and the services' own work, and each
    # throughput run's CPU total against the budget the throughput target allows.
    assert "the path's floor:" in result.stdout
    assert "their own work now: writer" in result.stdout
    assert result.stdout.count("all of them:") == (3 if pinned else 2)
    # The close under a burst of real submits (sent by the closer process), beside the idle
    # close, as a ratio.
    assert "the bursts: " in result.stdout
    assert "under the burst vs idle" in result.stdout
