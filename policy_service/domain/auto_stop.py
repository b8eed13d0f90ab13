"""Automatic stops: a trigger closes the kill switch through the operator's close path, as
operator auto:<trigger>, with its evidence in the close's audit event."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from prometheus_client import Counter

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain import unaudited
from policy_service.domain.killswitch import KillSwitchService
from policy_service.domain.ports import WriterError
from policy_service.domain.reopen_flow import SCOPE

log = logging.getLogger("livegate.policy.auto_stop")

AUDIT_WRITE_FAILURE: Final = "audit_write_failure"
METHOD: Final = "AutoStop"
MAX_ERROR_TEXT: Final = 200

FIRED = Counter(
    "livegate_auto_stops_total",
    "Policy: automatic stops that closed the kill switch, by trigger (the writer's included)",
    ["trigger"],
)


@dataclass(frozen=True)
class WriterTrip:
    """An automatic stop the writer tripped: it closed its own switch already."""

    trip_id: str
    trigger: str
    reason: str
    evidence: dict[str, str] = field(default_factory=dict)
    tripped_at: str = ""


@runtime_checkable
class TripSource(Protocol):
    def claim_auto_stops(self, acknowledged: list[str]) -> list[WriterTrip]: ...


class AutoStopper:
    """Closes the switch for a trigger, exactly as an operator's close does (approvals
    revoked, the writer closed, the close stored or held and retried), as auto:<trigger>."""

    def __init__(self, switch: KillSwitchService):
        self._switch = switch

    def close(self, trigger: str, request_id: str, reason: str, evidence: dict[str, str]) -> bool:
        """True when this replica is closed (the close stored, or held and retried)."""
        call = m.Call(METHOD, request_id, f"auto:{trigger}", frozenset({SCOPE}))
        detail = {"auto_stop": trigger, **{f"evidence.{k}": v for k, v in evidence.items()}}
        result = self._switch.set(call, m.SwitchState.CLOSED, reason, False, evidence=detail)
        if isinstance(result, m.Denial):
            held = result.reason == reasons.KILL_SWITCH_CLOSE_NOT_STORED
            # Not stored: closed here and at the writer all the same, stored by the retry.
            log.critical(
                "automatic stop closed the switch, not stored yet"
                if held
                else "automatic stop could not close the switch",
                extra={"trigger": trigger, "reason": result.reason, "request_id": request_id},
            )
            if held:
                FIRED.labels(trigger=trigger).inc()
            return held
        FIRED.labels(trigger=trigger).inc()
        log.critical(
            "automatic stop closed the kill switch",
            extra={"trigger": trigger, "request_id": request_id, "version": result.switch.version},
        )
        return True


class AuditFailureTrigger:
    """A write the audit store failed closes the switch, once per open period: a store that
    keeps failing (the close itself included) closes nothing more while closed."""

    def __init__(
        self,
        stopper: AutoStopper,
        closed: Callable[[], bool],
        new_request_id: Callable[[], str],
        enabled: bool = True,
    ):
        self._stopper = stopper
        self._enabled = enabled
        self._closed = closed
        self._new_request_id = new_request_id
        self._lock = threading.Lock()
        self._failure: dict[str, str] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe(self, call: m.Call, reason: str) -> None:
        """From unaudited(), in the except block of the failure: note it, wake the closer."""
        driver_error = _innermost(sys.exc_info()[1])
        with self._lock:
            if self._failure is not None:
                return
            self._failure = {
                "method": call.method,
                "request_id": call.request_id,
                "refusal_reason": reason,
                "error_class": _class_name(driver_error),
                "error": str(driver_error)[:MAX_ERROR_TEXT] if driver_error else "",
            }
        self._wake.set()

    def start(self) -> None:
        unaudited.observers.append(self.observe)
        self._thread = threading.Thread(target=self._run, name="auto-stop-audit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.observe in unaudited.observers:
            unaudited.observers.remove(self.observe)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            with self._lock:
                failure, self._failure = self._failure, None
            if failure is None or self._closed():
                continue  # closed already: the close itself may be what failed to store
            summary = f"the audit store failed a write ({failure['error_class']})"
            if not self._enabled:
                log.warning(
                    "automatic stop disabled; not tripped",
                    extra={"trigger": AUDIT_WRITE_FAILURE, "summary": summary},
                )
                continue
            self._stopper.close(
                AUDIT_WRITE_FAILURE,
                self._new_request_id(),
                f"{reasons.AUTO_STOP_AUDIT_WRITE_FAILURE}: {summary}",
                failure,
            )


def _innermost(error: BaseException | None) -> BaseException | None:
    """The driver's error behind the store's failure (through SQLAlchemy's wrapper and the
    group commit's), e.g. sqlite3.OperationalError."""
    for _ in range(8):  # a chain is short; a cycle must not hang the closer
        inner = getattr(error, "orig", None) or getattr(error, "__cause__", None)
        if inner is None:
            return error
        error = inner
    return error


def _class_name(error: BaseException | None) -> str:
    if error is None:
        return "unknown"
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"


class WriterTrips:
    """Fetches the writer's trips and closes the durable switch for each, then acknowledges
    them. Every replica asks; the writer hands each trip to one at a time (a lease)."""

    def __init__(self, stopper: AutoStopper, source: TripSource):
        self._stopper = stopper
        self._source = source
        self._acks: list[str] = []

    def run(self) -> None:
        # A second round acknowledges at once what the first recorded.
        for _ in range(2):
            if not self._round():
                return

    def _round(self) -> bool:
        """One claim; True when it recorded trips to acknowledge."""
        try:
            trips = self._source.claim_auto_stops(self._acks)
        except WriterError as err:
            log.info("writer trips not fetched", extra={"error": str(err)})
            return False
        self._acks = []
        for trip in trips:
            evidence = {**trip.evidence, "trip_id": trip.trip_id, "tripped_at": trip.tripped_at}
            if self._stopper.close(trip.trigger, trip.trip_id, trip.reason, evidence):
                self._acks.append(trip.trip_id)
        return bool(self._acks)
