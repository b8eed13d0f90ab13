"""Automatic stops the writer trips: it closes its own switch at once and keeps each trip until
the policy has closed the durable switch for it and audited it (ClaimAutoStops)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from prometheus_client import Counter

from livegate_common import config as cfg
from writer_service.kill_switch import WriterKillSwitch

log = logging.getLogger("livegate.writer.auto_stops")

UNEXPLAINED_ORDER: Final = "unexplained_order"
SESSION_LOST: Final = "session_lost"
PROBE_MISMATCH: Final = "probe_mismatch"
BROKER_REJECTIONS: Final = "broker_rejections"
TRIGGERS: Final = (UNEXPLAINED_ORDER, SESSION_LOST, PROBE_MISMATCH, BROKER_REJECTIONS)

# The kill switch's reason is bounded on the wire like any reason.
MAX_REASON: Final = 500
# Trips kept unacknowledged at most: a policy that never comes back must not grow the writer.
MAX_TRIPS: Final = 1000

TRIPPED = Counter(
    "livegate_writer_auto_stops_total",
    "Writer: automatic stops tripped (the writer's own switch closed), by trigger",
    ["trigger"],
)


@dataclass(frozen=True)
class AutoStopsConfig:
    """Each trigger's switch and threshold; every one is on unless the config turns it off."""

    unexplained_order: bool = True
    # How often the writer asks the broker for every order (open and completed) between
    # reconciliations: an order placed by hand is seen within this bound.
    unexplained_check_interval_s: float = 5.0
    session_lost: bool = True
    # A session down longer than this trips; a shorter blip (a reconnect) does not.
    session_lost_after_s: float = 30.0
    probe_mismatch: bool = True
    broker_rejections: bool = True
    # This many BROKER_REJECTED answers to submits, modifies and brackets in a row trip.
    broker_rejections_count: int = 5
    # A claimed trip is handed out again when its claimant has not acknowledged it by then.
    claim_lease_s: float = 5.0

    def enabled(self, trigger: str) -> bool:
        return bool(getattr(self, trigger))


def from_document(doc: Mapping[str, Any]) -> AutoStopsConfig:
    count = cfg.get(doc, "auto_stops.broker_rejections.count", int, 5)
    if count < 1:
        raise cfg.ConfigError("auto_stops.broker_rejections.count", "must be at least 1")
    return AutoStopsConfig(
        unexplained_order=cfg.get(doc, "auto_stops.unexplained_order.enabled", bool, True),
        unexplained_check_interval_s=cfg.positive(
            doc, "auto_stops.unexplained_order.check_interval_s", 5.0
        ),
        session_lost=cfg.get(doc, "auto_stops.session_lost.enabled", bool, True),
        session_lost_after_s=cfg.positive(doc, "auto_stops.session_lost.after_s", 30.0),
        probe_mismatch=cfg.get(doc, "auto_stops.probe_mismatch.enabled", bool, True),
        broker_rejections=cfg.get(doc, "auto_stops.broker_rejections.enabled", bool, True),
        broker_rejections_count=count,
        claim_lease_s=cfg.positive(doc, "auto_stops.claim_lease_s", 5.0),
    )


@dataclass
class Trip:
    trip_id: str
    trigger: str
    reason: str
    evidence: dict[str, str]
    tripped_at: datetime
    claimed_until: float = field(default=0.0, compare=False)


class AutoStops:
    """Trips: each closes the writer's switch (fail closed, the policy may be down) and waits
    here until a policy replica acknowledges that it closed the durable switch for it."""

    def __init__(
        self,
        config: AutoStopsConfig,
        kill_switch: WriterKillSwitch,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self._kill_switch = kill_switch
        self._clock = clock
        self._lock = threading.Lock()
        self._trips: list[Trip] = []

    def trip(self, trigger: str, summary: str, evidence: Mapping[str, str]) -> Trip | None:
        """Close the writer's switch for TRIGGER (unless the config turned it off)."""
        if not self.config.enabled(trigger):
            log.warning(
                "automatic stop disabled; not tripped",
                extra={"trigger": trigger, "summary": summary},
            )
            return None
        reason = f"AUTO_STOP_{trigger.upper()}: {summary}"[:MAX_REASON]
        trip = Trip(uuid.uuid4().hex, trigger, reason, dict(evidence), datetime.now(UTC))
        self._kill_switch.trip(reason)
        with self._lock:
            self._trips = [*self._trips, trip][-MAX_TRIPS:]
        TRIPPED.labels(trigger=trigger).inc()
        log.critical(
            "automatic stop: writer closed",
            extra={"trigger": trigger, "trip_id": trip.trip_id, "reason": reason, **evidence},
        )
        return trip

    def claim(self, acknowledged: list[str]) -> list[Trip]:
        """Forget ACKNOWLEDGED trips; hand out the others not under another claim's lease."""
        now = self._clock()
        done = set(acknowledged)
        with self._lock:
            self._trips = [t for t in self._trips if t.trip_id not in done]
            claimed = [t for t in self._trips if t.claimed_until <= now]
            for trip in claimed:
                trip.claimed_until = now + self.config.claim_lease_s
        return claimed

    def pending(self) -> list[Trip]:
        with self._lock:
            return list(self._trips)
