"""`livegate dev --demo` starts the whole stack from nothing, passes, and leaves nothing running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
    assert "livegate_unexplained_broker_orders 0.0" in out
    pids = [
        (name, int(pid))
        for name, pid in (
            line.split() for line in (home / "logs" / "pids").read_text().splitlines()
        )
    ]
    assert {name for name, _ in pids} == {"openbao", "gateway-sim", "writer", "policy"}
    assert [name for name, pid in pids if _alive(pid)] == []
