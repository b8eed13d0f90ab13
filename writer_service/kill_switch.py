"""The writer's own kill switch: in memory, starts CLOSED, opened (or set REDUCING) only by the
policy's syncs."""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

log = logging.getLogger("livegate.writer.kill_switch")

SYSTEM: str = "system"


class SwitchState(enum.Enum):
    OPEN = "OPEN"
    # Cancels pass; submits and modifies only where they reduce the position (reducing_guard);
    # brackets never. Tighter than OPEN, looser than CLOSED.
    REDUCING = "REDUCING"
    CLOSED = "CLOSED"


@dataclass(frozen=True)
class SwitchSnapshot:
    state: SwitchState
    reason: str
    changed_by: str
    changed_at: datetime
    version: int


class WriterKillSwitch:
    """CLOSED until the policy service syncs it open; closes itself when the policy goes quiet.

    A CLOSED from the policy always closes, whatever its version: a restored policy database,
    or a replica on another database, may send a lower one, and a close must never be lost.
    An OPEN needs a version newer than every version seen up to the last CLOSED, so neither
    a late, stale OPEN nor a replica that did not see the close reopens it. A resent CLOSED
    (a replica's heartbeat of its stored state) older than the current version is stale and
    ignored: it was read before the OPEN the writer has.

    REDUCING sits between the two. From OPEN it is a tightening, applied like a CLOSED whatever
    its version (and it raises the floor, so no stale OPEN undoes it); from CLOSED it is a
    loosening, applied like an OPEN only when newer than the floor (the policy's guarded reopen
    sends a new version). A resent REDUCING older than the current version is stale, as a
    resent CLOSED is. Silence from the policy closes a REDUCING switch as it closes an OPEN one.
    """

    def __init__(
        self,
        peer_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._peer_timeout_s = peer_timeout_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._last_sync = clock()
        # The highest version seen in any sync, and what it was when the policy last closed:
        # an OPEN must be newer than the latter.
        self._highest_seen = -1
        self._open_floor = -1
        self._snapshot = SwitchSnapshot(
            SwitchState.CLOSED,
            "writer started: closed until the policy syncs it",
            SYSTEM,
            wall_clock(),
            0,
        )

    def snapshot(self) -> SwitchSnapshot:
        with self._lock:
            self._expire_locked()
            return self._snapshot

    def is_open(self) -> bool:
        return self.snapshot().state is SwitchState.OPEN

    def state(self) -> SwitchState:
        return self.snapshot().state

    def sync(
        self,
        state: SwitchState,
        reason: str,
        changed_by: str,
        version: int,
        resend: bool = False,
    ) -> SwitchSnapshot:
        """Apply the policy's state by the rule above; returns the switch as it now is."""
        with self._lock:
            self._last_sync = self._clock()
            current = self._snapshot
            if resend and state is not SwitchState.OPEN and version < current.version:
                return current
            self._highest_seen = max(self._highest_seen, version)
            if state is SwitchState.CLOSED:
                self._open_floor = self._highest_seen
                if current.state is SwitchState.CLOSED and current.version == version:
                    return current
                return self._apply_locked(state, reason, changed_by, version)
            if state is SwitchState.REDUCING and current.state is SwitchState.OPEN:
                self._open_floor = self._highest_seen  # a tightening: no stale OPEN undoes it
                return self._apply_locked(state, reason, changed_by, version)
            if current.state is state and version <= current.version:
                return current  # the same state again (a heartbeat), or an older one
            if version <= self._open_floor:
                log.info(
                    "ignored a loosening not newer than the last tightening",
                    extra={"state": state.value, "version": version, "floor": self._open_floor},
                )
                return current
            return self._apply_locked(state, reason, changed_by, version)

    def _apply_locked(
        self, state: SwitchState, reason: str, changed_by: str, version: int
    ) -> SwitchSnapshot:
        self._snapshot = SwitchSnapshot(state, reason, changed_by, self._wall_clock(), version)
        log.warning(
            "kill switch changed",
            extra={"state": state.value, "version": version, "reason": reason},
        )
        return self._snapshot

    def close(self, reason: str) -> SwitchSnapshot:
        """Close locally (keeps the version and the floor: the policy's next OPEN reopens it)."""
        with self._lock:
            self._close_locked(reason)
            return self._snapshot

    def trip(self, reason: str) -> SwitchSnapshot:
        """An automatic stop: close locally, and let no OPEN already seen reopen it (the
        policy's heartbeat resends its stored OPEN); only a newer one does, which the policy
        sends after it recorded the stop and two operators reopened (a guarded reopen)."""
        with self._lock:
            self._open_floor = max(self._open_floor, self._highest_seen, self._snapshot.version)
            self._close_locked(reason)
            return self._snapshot

    def _close_locked(self, reason: str) -> None:
        if self._snapshot.state is SwitchState.CLOSED:
            return
        self._snapshot = replace(
            self._snapshot,
            state=SwitchState.CLOSED,
            reason=reason,
            changed_by=SYSTEM,
            changed_at=self._wall_clock(),
        )
        log.warning("kill switch closed by the writer", extra={"reason": reason})

    def _expire_locked(self) -> None:
        # Losing the policy peer must never leave the writer open: silence closes it.
        silent_for = self._clock() - self._last_sync
        if self._snapshot.state is not SwitchState.CLOSED and silent_for > self._peer_timeout_s:
            self._close_locked(
                f"no kill-switch sync from the policy service for {silent_for:.1f}s "
                f"(limit {self._peer_timeout_s}s)"
            )
