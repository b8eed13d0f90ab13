"""`livegate dev --demo` starts the whole stack from nothing, passes, and leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _request_ids(log: Path) -> set[str]:
    ids = set()
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line from a library that wrote past the JSON handler
        if entry.get("request_id"):
            ids.add(entry["request_id"])
    return ids


def _assert_writer_lines_join_policy_lines(logs: Path) -> None:
    """Every request id on a writer line is on a policy line: one grep joins both sides."""
    writer_ids = _request_ids(logs / "writer.log")
    assert writer_ids, "the writer logged no request ids"
    assert writer_ids <= _request_ids(logs / "policy.log")


def _pids(home: Path) -> list[tuple[str, int]]:
    lines = (home / "logs" / "pids").read_text().splitlines()
    return [(name, int(pid)) for name, pid in (line.split() for line in lines)]


@pytest.mark.timeout(90)
def test_dev_when_interrupted_with_ctrl_c_then_everything_stops(tmp_path: Path) -> None:
    home = tmp_path / "dev"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "livegate"), "dev", "--policy-port", "0",
         "--home", str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + 60
    for line in process.stdout:  # bounded by the deadline and by the process's own exit
        seen.append(line)
        if "Ctrl-C stops everything" in line or time.monotonic() > deadline:
            break
    assert any("Ctrl-C stops everything" in line for line in seen), "".join(seen)
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(seen) + rest
    assert "stack stopped" in rest
    assert [name for name, pid in _pids(home) if _alive(pid)] == []


@pytest.mark.timeout(180)
def test_dev_demo_when_run_from_nothing_then_passes_and_no_process_is_left(tmp_path: Path) -> None:
    home = tmp_path / "dev"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "livegate"), "dev", "--demo", "--policy-port", "0",
         "--home", str(home)],
        capture_output=True, text=True, timeout=170, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in (
        "OpenBao dev server", "writer as W", "policy service on SQLite", "upstream submits it",
        "upstream modifies the order", "upstream submits the bracket",
        "operator sets the kill switch CLOSED", "submit refused while closed: FAILED_PRECONDITION "
        "KILL_SWITCH_CLOSED", "operator sets the kill switch OPEN", "demo passed", "stack stopped",
    ):  # fmt: skip
        assert step in out
    assert "grpcurl -cacert" in out and "SetKillSwitch" in out
    # Observability: both services served /metrics, and the refusal was counted by reason.
    assert 'livegate_refusals_total{method="SubmitOrder",reason="KILL_SWITCH_CLOSED"} 1.0' in out
    assert "livegate_audit_chain_head_event_id" in out
    assert "livegate_audit_anchored_event_id" in out and "livegate_audit_chain_broken 0.0" in out
    assert "livegate_unexplained_broker_orders 0.0" in out
    _assert_writer_lines_join_policy_lines(home / "logs")
    pids = [
        (name, int(pid))
        for name, pid in (
            line.split() for line in (home / "logs" / "pids").read_text().splitlines()
        )
    ]
    assert {name for name, _ in pids} == {"openbao", "gateway-sim", "writer", "policy"}
    assert [name for name, pid in pids if _alive(pid)] == []
