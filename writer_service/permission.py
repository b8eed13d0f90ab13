"""The writer's permission now: the last probe's verdict, proven again on reconnect and a timer."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Final

from writer_service import errors
from writer_service.kill_switch import WriterKillSwitch
from writer_service.probe import ProbeResult, Verdict, failed_evidence

log = logging.getLogger("livegate.writer.permission")

# The kill switch's reason is bounded on the wire like any reason.
MAX_REASON: Final = 500


class PermissionMonitor:
    """Holds the latest ProbeResult; reprobe() runs a new probe on the session's loop.

    A verdict that does not match the role closes the writer's kill switch (the evidence is
    the reason) and holds every write until a later probe matches again.
    """

    def __init__(
        self,
        first: ProbeResult,
        probe: Callable[[], Coroutine[Any, Any, ProbeResult]],
        kill_switch: WriterKillSwitch,
    ):
        self._lock = threading.Lock()
        self._current = first
        self._probe = probe
        self._kill_switch = kill_switch
        # One probe at a time: the reconnect hook and the periodic probe may meet, and two
        # order queries at once would orphan one of them.
        self._probing = asyncio.Lock()
        # Told (previous, new verdict, trigger) after every probe: the automatic stop.
        self.on_verdict: Callable[[ProbeResult, ProbeResult, str], None] = lambda *_a: None

    def current(self) -> ProbeResult:
        with self._lock:
            return self._current

    def require_proven(self) -> None:
        """Refuse (WRITER_PERMISSION_UNPROVEN) unless the last probe matched the role."""
        current = self.current()
        if current.verdict is not Verdict.MATCHES_ROLE:
            raise errors.permission_unproven(current.verdict.value, current.probed_at)

    async def reprobe(self, trigger: str) -> ProbeResult:
        """Probe again (on the session's loop) and act on the verdict; never raises."""
        async with self._probing:
            result = await self._probe()
        self._record(result, trigger)
        return result

    def _record(self, result: ProbeResult, trigger: str) -> None:
        with self._lock:
            previous, self._current = self._current, result
        self.on_verdict(previous, result, trigger)
        if result.verdict is not Verdict.MATCHES_ROLE:
            reason = (
                f"permission probe ({trigger}) {result.verdict.value} for role "
                f"{result.role.value}: {failed_evidence(result)}"
            )
            self._kill_switch.close(reason[:MAX_REASON])
            log.error(
                "permission not proven; writer closed",
                extra={"trigger": trigger, "verdict": result.verdict.value},
            )
        elif previous.verdict is not Verdict.MATCHES_ROLE:
            # Writes resume once the policy syncs the switch open again.
            log.warning("permission proven again", extra={"trigger": trigger})
