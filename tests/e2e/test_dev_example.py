"""`livegate dev --example` runs the example upstream service (livegate_client) to the end."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(200)
def test_dev_example_when_run_from_nothing_then_trades_through_a_kill_switch_drill(
    tmp_path: Path,
) -> None:
    home = tmp_path / "dev"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "livegate"), "dev", "--example", "--policy-port", "0",
         "--home", str(home)],
        capture_output=True, text=True, timeout=190, cwd=tmp_path, check=False,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    # Preview, a second person's approval, submit under a key the library made, follow it.
    submitted = re.findall(r"submitted under key (lgc-[0-9a-f]{32}) in 1 attempt", out)
    assert len(submitted) == 2 and len(set(submitted)) == 2, out
    assert re.search(r"\[approver\] approved pv_", out)
    assert re.search(r"order \d+ Submitted: filled 0, remaining 5", out)
    # The close between approval and submit: refused, paused, resumed with a new preview.
    assert "[operator] closed the kill switch" in out
    assert "refused: KILL_SWITCH_CLOSED at gate step 6" in out
    assert "kill switch open again (drill: all clear): resuming" in out
    assert out.index("refused: KILL_SWITCH_CLOSED") < out.index(f"key {submitted[1]}")
    assert "example passed" in out and "stack stopped" in out
