"""Write slots: writes run side by side, one per key; a kill-switch close waits for all of them."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Hashable, Iterator

from writer_service import errors


class WriteSlots:
    """A shared/exclusive lock with a per-key rule, for the writer's broker writes.

    Shared: an order write. Writes of different keys (or orders) proceed together, so broker
    round trips overlap; two writes of one key never do, so "look the key up, then place" stays
    atomic per key. Exclusive: closing the kill switch (and cancel-all). It waits for every write
    in flight and, once it is waiting, admits no new write, so nothing reaches the broker after
    the close returns (invariant 2) and a close is never starved by a stream of writes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._exclusive = False
        self._exclusive_waiting = 0
        self._keys: set[Hashable] = set()

    @contextlib.contextmanager
    def shared(self, keys: tuple[Hashable, ...], timeout_s: float) -> Iterator[None]:
        """A write holding every one of KEYS (none of which another write may hold meanwhile)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._exclusive or self._exclusive_waiting or not self._keys.isdisjoint(keys):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise errors.broker_timeout("a free write slot", timeout_s)
                self._cond.wait(left)
            self._active += 1
            self._keys.update(keys)
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._keys.difference_update(keys)
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self, timeout_s: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._exclusive_waiting += 1
            try:
                while self._exclusive or self._active:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise errors.broker_timeout("a free write slot", timeout_s)
                    self._cond.wait(left)
                self._exclusive = True
            finally:
                self._exclusive_waiting -= 1
                self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
