"""server.cpus: parsed strictly, and pin() moves every thread of the process, or refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from livegate_common.config import ConfigError, cpus_config
from tests.support.affinity import one_cpu

ROOT = Path(__file__).resolve().parents[2]


def test_cpus_when_absent_or_empty_then_not_pinned() -> None:
    assert cpus_config({}) == frozenset()
    assert cpus_config({"server": {"cpus": []}}) == frozenset()
    assert cpus_config({"server": {"cpus": [1, 0]}}) == frozenset({0, 1})


@pytest.mark.parametrize("bad", [[-1], ["0"], [True], [0.5], "0", {"a": 1}, [0, 0]])
def test_cpus_when_not_a_list_of_distinct_cpu_numbers_then_config_error(bad: Any) -> None:
    with pytest.raises(ConfigError) as info:
        cpus_config({"server": {"cpus": bad}})
    assert info.value.key == "server.cpus"


# Runs in a child: pinning the test process itself would slow every test after it.
CHILD = """
import json, os, sys, threading
from livegate_common import cpus
from livegate_common.config import ConfigError
started = threading.Event(); stop = threading.Event()
def park():
    started.set(); stop.wait()
early = threading.Thread(target=park); early.start(); started.wait()
try:
    cpus.pin(frozenset(json.loads(sys.argv[1])))
except ConfigError as exc:
    print(json.dumps({"error": str(exc), "key": exc.key})); stop.set(); sys.exit(0)
later = threading.Thread(target=stop.wait); later.start()
tasks = {t: sorted(os.sched_getaffinity(int(t))) for t in os.listdir("/proc/self/task")}
stop.set()
print(json.dumps({"tasks": tasks}))
"""


def _child(cpus: list[int]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cpus)],
        capture_output=True, text=True, timeout=30, cwd=ROOT, check=True,
    )  # fmt: skip
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_pin_when_threads_already_run_then_every_thread_and_later_ones_are_pinned() -> None:
    cpu = one_cpu()
    tasks = _child([cpu])["tasks"]
    assert len(tasks) >= 3  # main, the thread started before pin(), the one started after
    assert all(allowed == [cpu] for allowed in tasks.values()), tasks


def test_pin_when_no_named_cpu_exists_then_config_error_naming_the_key() -> None:
    answer = _child([4095])
    assert answer["key"] == "server.cpus"
    assert "cannot pin to CPUs [4095]" in answer["error"]
