"""What trips the writer's automatic stops: orders nobody explains, a session lost too long,
a probe that stops matching, broker rejections in a row. Each watcher trips once per event."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from writer_service.auto_stops import (
    BROKER_REJECTIONS,
    PROBE_MISMATCH,
    SESSION_LOST,
    UNEXPLAINED_ORDER,
    AutoStops,
)
from writer_service.errors import WriterError
from writer_service.ib_convert import view_from_trade
from writer_service.ib_session import IbSession
from writer_service.orders import BrokerOrderView
from writer_service.probe import ProbeResult, Verdict, failed_evidence
from writer_service.reconciliation import is_explained

log = logging.getLogger("livegate.writer.auto_watch")


# The writes whose broker answer counts towards rejections in a row (a cancel reduces risk).
COUNTED_WRITES: Final = frozenset({"submit", "modify", "bracket"})
MAX_EVIDENCE_TEXT: Final = 200


class UnexplainedWatch:
    """Trips once for every order (by permId) nobody explains: at start, after a reconnect,
    and at each periodic look at the broker's orders."""

    def __init__(self, stops: AutoStops, account_hash: Callable[[str], str]):
        self._stops = stops
        self._account_hash = account_hash
        self._lock = threading.Lock()
        self._reported: set[tuple[int, int]] = set()

    def observe(self, views: list[BrokerOrderView], when: str) -> None:
        with self._lock:
            new = [v for v in views if not is_explained(v) and _key(v) not in self._reported]
            self._reported.update(_key(v) for v in new)
        if not new:
            return
        ids = ",".join(str(v.broker_order_id) for v in new)
        self._stops.trip(
            UNEXPLAINED_ORDER,
            f"{len(new)} order(s) at the broker that livegate did not place ({when}): {ids}",
            {
                "broker_order_ids": ids,
                "perm_ids": ",".join(str(v.perm_id) for v in new),
                "account_id_hashes": ",".join(self._account_hash(v.account_id) for v in new),
                "statuses": ",".join(v.status for v in new),
                "seen_at": when,
            },
        )

    def scan(self, session: IbSession, timeout_s: float) -> None:
        """Ask the broker for every order (open and completed) and observe them."""
        if not session.is_connected():
            return  # the reconnect's reconciliation looks, once the session is back

        async def orders() -> list[BrokerOrderView] | None:
            open_q = await session.open_orders(timeout_s)
            done_q = await session.completed_orders(timeout_s)
            if not (open_q.answered and done_q.answered):
                return None
            return [view_from_trade(t) for t in [*open_q.trades, *done_q.trades]]

        views = session.call(orders(), 2 * timeout_s + 1)
        if views is None:
            log.warning("periodic order scan not answered; next interval looks again")
            return
        self.observe(views, "periodic")


def _key(view: BrokerOrderView) -> tuple[int, int]:
    # permId is the broker's id of an order across clients; an order without one by its id.
    return (view.perm_id, 0) if view.perm_id > 0 else (0, view.broker_order_id)


class SessionWatch:
    """Trips once per outage that lasts longer than after_s; a reconnect re-arms it."""

    def __init__(
        self,
        stops: AutoStops,
        connected: Callable[[], bool],
        after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._stops = stops
        self._connected = connected
        self._after_s = after_s
        self._clock = clock
        self._down_since: float | None = None
        self._tripped = False

    def poll(self) -> None:
        now = self._clock()
        if self._connected():
            if self._down_since is not None:
                log.info("broker session back", extra={"down_s": round(now - self._down_since, 3)})
            self._down_since, self._tripped = None, False
            return
        if self._down_since is None:
            self._down_since = now
        down = now - self._down_since
        if self._tripped or down < self._after_s:
            return
        self._tripped = True
        self._stops.trip(
            SESSION_LOST,
            f"broker session lost for {down:.1f}s (limit {self._after_s:g}s)",
            {"seconds_disconnected": f"{down:.1f}", "limit_s": f"{self._after_s:g}"},
        )


class RejectionStreak:
    """Counts BROKER_REJECTED answers to writes in a row; any accepted write resets it."""

    def __init__(self, stops: AutoStops, count: int):
        self._stops = stops
        self._count = count
        self._lock = threading.Lock()
        self._last: deque[dict[str, str]] = deque(maxlen=count)

    @contextmanager
    def watching(self, operation: str) -> Iterator[None]:
        """Around one write: its outcome counts (only submits, modifies and brackets)."""
        if operation not in COUNTED_WRITES:
            yield
            return
        try:
            yield
        except WriterError as exc:
            if exc.reason == "BROKER_REJECTED":
                self._rejected(operation, exc)
            raise
        self._accepted()

    def _accepted(self) -> None:
        with self._lock:
            self._last.clear()

    def _rejected(self, operation: str, exc: WriterError) -> None:
        # What the broker said first (its code and text), else the writer's own verdict.
        said = _first_message(exc.metadata.get("broker_messages", ""))
        entry = {
            "operation": operation,
            "broker_error_code": exc.metadata.get("broker_error_code", ""),
            "message": (said or exc.message)[:MAX_EVIDENCE_TEXT],
        }
        with self._lock:
            self._last.append(entry)
            if len(self._last) < self._count:
                return
            last = list(self._last)
            self._last.clear()  # the next streak counts from zero (after a reopen)
        codes = ",".join(e["broker_error_code"] or "-" for e in last)
        self._stops.trip(
            BROKER_REJECTIONS,
            f"{len(last)} broker rejections in a row (codes {codes})",
            {"rejections": str(len(last)), "last_rejections": json.dumps(last)},
        )


def _first_message(broker_messages: str) -> str:
    try:
        parsed = json.loads(broker_messages) if broker_messages else []
    except ValueError:
        return ""
    first = parsed[0] if isinstance(parsed, list) and parsed else {}
    return str(first.get("message", "")) if isinstance(first, dict) else ""


def on_probe(stops: AutoStops) -> Callable[[ProbeResult, ProbeResult, str], None]:
    """The permission monitor's hook: a verdict that stops matching the role trips once."""

    def hook(previous: ProbeResult, result: ProbeResult, trigger: str) -> None:
        if result.verdict is Verdict.MATCHES_ROLE or previous.verdict is not Verdict.MATCHES_ROLE:
            return
        stops.trip(
            PROBE_MISMATCH,
            f"permission probe ({trigger}) {result.verdict.value} for role {result.role.value}",
            {
                "verdict": result.verdict.value,
                "role": result.role.value,
                "probe_trigger": trigger,
                "failed_checks": failed_evidence(result)[: MAX_EVIDENCE_TEXT * 2],
                "probed_at": result.probed_at.isoformat(),
            },
        )

    return hook
