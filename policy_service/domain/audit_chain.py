"""The chain as this process holds it: the keyring that links new events, what it appended."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from policy_service.domain.audit_keys import Keyring


@dataclass(frozen=True)
class Appended:
    """An event this process linked and saw committed: a link the chain must still hold."""

    event_id: int
    link: str
    key_id: str
    at_us: int


class ChainKeeper:
    """Thread-safe; the store reports each committed append, the anchor writer reads them."""

    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self._lock = threading.Lock()
        self._last: Appended | None = None
        self._count = 0
        self._listener: Callable[[int], None] | None = None

    def listen(self, listener: Callable[[int], None]) -> None:
        """LISTENER gets the running count of committed appends (the anchor writer's cue)."""
        self._listener = listener

    def committed(self, items: Sequence[Appended]) -> None:
        if not items:
            return
        newest = max(items, key=lambda a: a.event_id)
        with self._lock:
            if self._last is None or newest.event_id > self._last.event_id:
                self._last = newest
            self._count += len(items)
            count = self._count
        if self._listener is not None:
            self._listener(count)

    def last(self) -> Appended | None:
        with self._lock:
            return self._last
