"""Write slots: writes run side by side, but never two of one key (or one order) at once."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Hashable, Iterator

from writer_service import errors


class WriteSlots:
    """A per-key lock for the writer's broker writes.

    Writes of different keys (or orders) proceed together, so broker round trips overlap; two
    writes of one key never do, so "look the key up, then place" stays atomic per key. Nothing
    here waits for a kill-switch close, nor a close for it: the switch is checked at each send
    (LiveOrderWriter._admit), so a close answers at once whatever the broker is doing.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._keys: set[Hashable] = set()

    @contextlib.contextmanager
    def shared(self, keys: tuple[Hashable, ...], timeout_s: float) -> Iterator[None]:
        """A write holding every one of KEYS (none of which another write may hold meanwhile)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._keys.isdisjoint(keys):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise errors.broker_timeout("a free write slot", timeout_s)
                self._cond.wait(left)
            self._keys.update(keys)
        try:
            yield
        finally:
            with self._cond:
                self._keys.difference_update(keys)
                self._cond.notify_all()
