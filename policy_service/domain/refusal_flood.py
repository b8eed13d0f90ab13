"""Keeps refusals from flooding the audit trail: repeats folded, a per-principal refusal limit.

A caller refused again and again (an unmapped certificate, a client retrying a refused call)
would otherwise write one event per call for 2555 days. Per source (the principal, or for an
unmapped certificate its SANs and fingerprint) and reason, the first refusal of an interval is
audited at once and the rest of that interval are counted, then written as one summary event:
at most two events per source and reason per interval. A principal refused more than the limit
within a minute gets RESOURCE_EXHAUSTED without its call running until the minute ends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Final

from policy_service import reasons
from policy_service.domain import model as m

MINUTE_US: Final = 60_000_000
# Never throttled: an operator refused a hundred times must still be able to close the switch,
# and a second operator to confirm a reopen the first one asked for; a scope likewise.
EXEMPT_METHODS: Final = frozenset(
    {"SetKillSwitch", "GetKillSwitch", "ConfirmReopen", "SetScopedStop"}
)
# Sources and principals tracked at once; beyond it the oldest window is closed early.
MAX_TRACKED: Final = 10_000


@dataclass
class Window:
    """Refusals of one source and reason folded in one interval."""

    source: str
    principal: str
    method: str
    denial: m.Denial
    started_us: int
    folded: int = 0
    first_request_id: str = ""
    last_request_id: str = ""


@dataclass(frozen=True)
class Summary:
    """One event's worth: FOLDED refusals like DENIAL between FROM_US and UNTIL_US."""

    window: Window
    until_us: int

    def detail(self) -> dict[str, str]:
        w = self.window
        return {
            **w.denial.metadata,
            "aggregated": str(w.folded),
            "source": w.source[:256],
            "first_request_id": w.first_request_id,
            "last_request_id": w.last_request_id,
            "from_us": str(w.started_us),
            "until_us": str(self.until_us),
        }


def source_of(call: m.Call, denial: m.Denial) -> str:
    """The principal; for a certificate that maps to none, what identifies it."""
    if call.principal:
        return call.principal
    meta = denial.metadata
    return f"unmapped:{meta.get('sans', '')}#{meta.get('cert_sha256', '')}"


@dataclass
class _Count:
    minute_start_us: int
    refusals: int = 0


@dataclass
class RefusalFlood:
    """INTERVAL_US 0 audits every refusal; LIMIT_PER_MIN 0 never throttles (tests only)."""

    interval_us: int
    limit_per_min: int
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _windows: dict[tuple[str, str], Window] = field(default_factory=dict)
    _counts: dict[str, _Count] = field(default_factory=dict)
    _due: list[Summary] = field(default_factory=list)

    def admit(self, call: m.Call, denial: m.Denial, now_us: int) -> bool:
        """True: audit this refusal now; False: it is counted into its window's summary."""
        with self._lock:
            if call.principal and denial.reason != reasons.REFUSAL_RATE_EXCEEDED:
                self._count(call.principal, now_us)
            if self.interval_us <= 0:
                return True
            key = (source_of(call, denial), denial.reason)
            window = self._windows.get(key)
            if window is not None and now_us - window.started_us >= self.interval_us:
                self._close(key, now_us)
                window = None
            if window is None:
                if len(self._windows) >= MAX_TRACKED:
                    self._close(next(iter(self._windows)), now_us)
                self._windows[key] = Window(key[0], call.principal, call.method, denial, now_us)
                return True
            window.folded += 1
            window.first_request_id = window.first_request_id or call.request_id
            window.last_request_id = call.request_id
            return False

    def limited(self, call: m.Call, now_us: int) -> m.Denial | None:
        """The refusal a throttled principal gets instead of running its call, or None."""
        if self.limit_per_min <= 0 or not call.principal or call.method in EXEMPT_METHODS:
            return None
        with self._lock:
            count = self._counts.get(call.principal)
            if count is None or now_us - count.minute_start_us >= MINUTE_US:
                return None
            if count.refusals < self.limit_per_min:
                return None
            retry_s = (count.minute_start_us + MINUTE_US - now_us + 999_999) // 1_000_000
            refusals = count.refusals
        return m.Denial(
            reasons.REFUSAL_RATE_EXCEEDED,
            "RESOURCE_EXHAUSTED",
            1,
            "too many refused calls; calls are refused without running until the minute ends",
            {
                "refusals": str(refusals),
                "limit_per_min": str(self.limit_per_min),
                "retry_after_s": str(max(1, retry_s)),
            },
        )

    def due(self, now_us: int) -> list[Summary]:
        """Summaries of the windows that have ended (taken: each is returned once)."""
        with self._lock:
            for key, window in list(self._windows.items()):
                if now_us - window.started_us >= self.interval_us:
                    self._close(key, now_us)
            out, self._due = self._due, []
            for principal, count in list(self._counts.items()):
                if now_us - count.minute_start_us >= MINUTE_US:
                    del self._counts[principal]
        return out

    def _count(self, principal: str, now_us: int) -> None:
        count = self._counts.get(principal)
        if count is None or now_us - count.minute_start_us >= MINUTE_US:
            if count is None and len(self._counts) >= MAX_TRACKED:
                del self._counts[next(iter(self._counts))]
            count = self._counts[principal] = _Count(now_us)
        count.refusals += 1

    def _close(self, key: tuple[str, str], now_us: int) -> None:
        window = self._windows.pop(key)
        if window.folded:
            self._due.append(Summary(window, now_us))
