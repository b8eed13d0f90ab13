"""Close first: while a kill-switch close runs, writes wait at their checkpoints, off the CPU."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Final

# How long a write waits at a checkpoint for closes to end, at most: a close that hangs (a
# database or writer that does not answer) must not hold every write forever. A write that
# goes on after it meets the switch as it then is (a close not stored yet is held in memory).
DEFAULT_MAX_WAIT_S: Final = 2.0
# Past this, a stuck close would hold writes longer than any write's own deadline allows.
MAX_WAIT_CEILING_S: Final = 10.0


class CloseFirst:
    """Writes wait while a close runs; a close never waits for a write.

    On a 2-core machine, two dozen write handlers hold the process's GIL (and the database)
    turn about, and a close's thread waited its turn at every hand-off. While a close runs,
    a write that reaches a checkpoint (the gate's entry, before its transactions and its
    writer call) waits on a condition, which holds neither the GIL nor the database, so the
    close shares the process with the writes already past their checkpoint only. Waiting
    only delays a write: it goes on through every gate step after, the switch included.
    """

    def __init__(
        self, max_wait_s: float = DEFAULT_MAX_WAIT_S, clock: Callable[[], float] = time.monotonic
    ):
        if max_wait_s <= 0:
            raise ValueError(f"max_wait_s must be positive, got {max_wait_s!r}")
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._cond = threading.Condition()
        self._closes = 0

    @contextlib.contextmanager
    def closing(self) -> Iterator[None]:
        """A close runs: writes hold at their checkpoints until it ends. Never blocks."""
        with self._cond:
            self._closes += 1
        try:
            yield
        finally:
            with self._cond:
                self._closes -= 1
                if not self._closes:
                    self._cond.notify_all()

    def closing_now(self) -> bool:
        return self._closes > 0

    def checkpoint(self) -> float:
        """Wait while a close runs, at most max_wait_s; the seconds waited."""
        if not self._closes:  # the common case: no lock taken
            return 0.0
        start = self._clock()
        deadline = start + self.max_wait_s
        with self._cond:
            while self._closes:
                left = deadline - self._clock()
                if left <= 0:
                    break
                self._cond.wait(left)
        return self._clock() - start
