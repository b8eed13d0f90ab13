"""Writes sent to the broker and not answered yet: what a kill-switch close lists."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

# The write the current gRPC call runs. ib_session's loop coroutines see it too: a coroutine
# handed to the loop by run_coroutine_threadsafe runs in a copy of the caller's context.
_current: contextvars.ContextVar[int | None] = contextvars.ContextVar("in_flight", default=None)
OPERATIONS: Final = frozenset({"submit", "cancel", "modify", "bracket"})


@dataclass(frozen=True)
class Flight:
    request_id: str
    operation: str
    idempotency_key: str
    # 0 until the write is sent; for a bracket, the parent's id.
    broker_order_id: int = 0
    sent: bool = False


class InFlight:
    """Writes between their first send to the broker and the writer's answer to the caller.

    track() spans one write call; sent() marks it from the loop, in the same step as the
    send (so a close that hops onto the loop after closing sees every write already sent).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._flights: dict[int, Flight] = {}

    @contextlib.contextmanager
    def track(self, request_id: str, operation: str, idempotency_key: str) -> Iterator[None]:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown write operation {operation!r}")
        flight_id = next(self._ids)
        with self._lock:
            self._flights[flight_id] = Flight(request_id, operation, idempotency_key)
        token = _current.set(flight_id)
        try:
            yield
        finally:
            _current.reset(token)
            with self._lock:
                self._flights.pop(flight_id, None)

    def sent(self, broker_order_id: int) -> None:
        """The current write just sent BROKER_ORDER_ID (its first send names the write)."""
        flight_id = _current.get()
        if flight_id is None:
            return
        with self._lock:
            flight = self._flights.get(flight_id)
            if flight is not None and not flight.sent:
                self._flights[flight_id] = replace(
                    flight, broker_order_id=broker_order_id, sent=True
                )

    def count(self) -> int:
        """Write calls being handled now, sent or not."""
        with self._lock:
            return len(self._flights)

    def sent_writes(self) -> list[Flight]:
        """Every write sent and still unanswered, oldest first."""
        with self._lock:
            return [f for _, f in sorted(self._flights.items()) if f.sent]
