"""A close this replica holds in memory until it is stored: gate step 6 refuses meanwhile."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from policy_service import reasons
from policy_service.domain import model as m


@dataclass(eq=False)
class PendingClose:
    """A close applied here (and sent to the writer) but not stored yet."""

    call: m.Call
    reason: str
    at_us: int
    # What the close's audit event will record beside the reason (the writer's answer).
    detail: dict[str, str] = field(default_factory=dict)
    # Its own call tried to store it and failed: from then on the heartbeat retries it.
    failed: bool = False
    # What its caller was told, when that was not a plain success: its event records it.
    denial: m.Denial | None = None


class CloseLatch:
    """Held from the moment a close starts until it is stored.

    A close must close this replica even when the database cannot take it (down, or text it
    refuses): until the close is stored, every write here is refused at step 6, and the
    kill-switch heartbeat sends the writer CLOSED and retries the store.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[PendingClose] = []
        # The last version this replica read or stored: what a close sends the writer when
        # the database cannot say (a CLOSED applies at the writer whatever its version).
        self._version = 0

    def hold(self, pending: PendingClose) -> None:
        with self._lock:
            self._pending.append(pending)

    def release(self, pending: PendingClose) -> None:
        with self._lock:
            if pending in self._pending:
                self._pending.remove(pending)

    def pending(self) -> list[PendingClose]:
        with self._lock:
            return list(self._pending)

    def failed(self) -> list[PendingClose]:
        """Held closes whose own store failed, oldest first: the ones to retry."""
        with self._lock:
            return [p for p in self._pending if p.failed]

    def saw_version(self, version: int) -> None:
        with self._lock:
            self._version = max(self._version, version)

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def view(self) -> m.KillSwitch | None:
        """The switch as this replica applies it while a close is held; None when none is."""
        with self._lock:
            if not self._pending:
                return None
            first = self._pending[0]
            return m.KillSwitch(
                m.SwitchState.CLOSED, first.reason, first.call.principal, first.at_us, self._version
            )

    def denial(self) -> m.Denial | None:
        """Step 6 while a close is held."""
        switch = self.view()
        if switch is None:
            return None
        return m.Denial(
            reasons.KILL_SWITCH_CLOSED,
            "FAILED_PRECONDITION",
            6,
            "the kill switch is closed (in this replica; the close is not stored yet)",
            {"version": str(switch.version), "changed_by": switch.changed_by, "stored": "false"},
        )
