"""Commands of the deployment test: bounded, logged to the run's files, failing loudly."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Nothing the test runs may hang the CI job: every command has a bound.
DEFAULT_TIMEOUT_S: Final = 600


class CheckFailed(Exception):
    """A check of the deployment test failed; the message says which and why."""


_print_lock = threading.Lock()
_START = time.monotonic()
# Every command still running, so an interrupted test can end them (and their children) at once.
_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()


def end_all_commands() -> None:
    with _running_lock:
        for process in _running:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def say(track: str, text: str) -> None:
    """One line of the test's own output, stamped with the seconds since it started."""
    with _print_lock:
        print(f"[{time.monotonic() - _START:6.1f}s] {track:<6} {text}", flush=True)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    check: bool = True,
    stdin: bytes | None = None,
    cwd: Path | None = None,
) -> Result:
    """Run ARGV, appending its output to LOG; raise CheckFailed on a non-zero exit if CHECK."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,  # a timeout ends the command's children too
    )
    with _running_lock:
        _running.add(process)
    timed_out = False
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    finally:
        with _running_lock:
            _running.discard(process)
    result = Result(
        process.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )
    with log.open("a", encoding="utf-8") as sink:
        took = time.monotonic() - started
        sink.write(f"$ {' '.join(argv)}  # rc={process.returncode} {took:.1f}s\n")
        sink.write(result.stdout)
        sink.write(result.stderr)
    tail = (result.stdout + result.stderr)[-3000:]
    if timed_out:
        raise CheckFailed(f"timed out after {timeout:.0f}s: {' '.join(argv)[:300]}\n{tail}")
    if check and process.returncode != 0:
        raise CheckFailed(f"exit {process.returncode}: {' '.join(argv)[:300]}\n{tail}")
    return result


class Timings:
    """Wall time per named step, printed at the end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.steps: list[tuple[str, float]] = []

    @contextmanager
    def step(self, track: str, name: str) -> Iterator[None]:
        say(track, f"{name} ...")
        started = time.monotonic()
        try:
            yield
        finally:
            took = time.monotonic() - started
            with self._lock:
                self.steps.append((f"{track}: {name}", took))
            say(track, f"{name} done in {took:.1f}s")
