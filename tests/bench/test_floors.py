"""The floors the benchmark splits the gate's latency with."""

from __future__ import annotations

from pathlib import Path

from bench import floors


def test_durable_append_times_each_fsync_and_leaves_no_file(tmp_path: Path) -> None:
    result = floors.durable_append(tmp_path, 5)
    assert result.count == 5
    assert 0 < result.p50_ms <= result.p99_ms
    assert list(tmp_path.iterdir()) == []
