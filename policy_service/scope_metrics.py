"""Gauges of the scoped stops, read from the database when scraped (every replica agrees).

Cardinality: livegate_scoped_stops_closed and livegate_scoped_stops_reducing have one series
per kind (three each). The per-scope gauges livegate_scoped_stop_closed and
livegate_scoped_stop_reducing have a series only for a scope in that state now (an account by
its keyed hash, a principal or tag by name): scopes come from operators' calls, never from
upstream callers, and a reopened scope's series goes away instead of piling up.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from policy_service.domain import model as m
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.scopes import ScopedStop, ScopeKind


class ScopeCollector(Collector):
    def __init__(self) -> None:
        self.store: object | None = None  # the SqlStore; set by register_state_gauges

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # nothing read at registration: the store may not exist yet

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stops = self._stopped()
        for state, what in ((m.SwitchState.CLOSED, "stopped"), (m.SwitchState.REDUCING,
                            "only reducing positions")):  # fmt: skip
            name = state.value.lower()
            per_kind = GaugeMetricFamily(
                f"livegate_scoped_stops_{name}",
                f"Scopes (kind ACCOUNT, PRINCIPAL, STRATEGY) {what} now; NaN when unreadable",
                labels=["kind"],
            )
            per_scope = GaugeMetricFamily(
                f"livegate_scoped_stop_{name}",
                f"1 for each scope {what} now (scope: account hash, principal or strategy tag)",
                labels=["kind", "scope"],
            )
            found = [s for s in stops or () if s.state is state]
            counts = Counter(s.kind for s in found)
            for kind in ScopeKind:
                per_kind.add_metric([kind.value], math.nan if stops is None else counts[kind])
            for stop in found:
                per_scope.add_metric([stop.kind.value, stop.key], 1.0)
            yield per_kind
            yield per_scope

    def _stopped(self) -> list[ScopedStop] | None:
        listing = getattr(self.store, "scoped_stops", None)
        if listing is None:
            return []
        try:
            return [s for s in listing() if s.stopped]
        except StoreUnavailable:
            return None  # a scrape must not raise, and unknown is not "open"


COLLECTOR = ScopeCollector()
REGISTRY.register(COLLECTOR)
