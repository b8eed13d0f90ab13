"""Gauges of the scoped stops, read from the database when scraped (every replica agrees).

Cardinality: livegate_scoped_stops_closed has one series per kind (three). The per-scope
gauge livegate_scoped_stop_closed has a series only for a scope CLOSED now (an account by its
keyed hash, a principal or tag by name): scopes come from operators' calls, never from
upstream callers, and a reopened scope's series goes away instead of piling up.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.scopes import ScopedStop, ScopeKind


class ScopeCollector(Collector):
    def __init__(self) -> None:
        self.store: object | None = None  # the SqlStore; set by register_state_gauges

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # nothing read at registration: the store may not exist yet

    def collect(self) -> Iterator[GaugeMetricFamily]:
        per_kind = GaugeMetricFamily(
            "livegate_scoped_stops_closed",
            "Scopes (kind ACCOUNT, PRINCIPAL, STRATEGY) stopped now; NaN when unreadable",
            labels=["kind"],
        )
        per_scope = GaugeMetricFamily(
            "livegate_scoped_stop_closed",
            "1 for each scope stopped now (scope: account hash, principal or strategy tag)",
            labels=["kind", "scope"],
        )
        stops = self._closed()
        counts = Counter(s.kind for s in stops or ())
        for kind in ScopeKind:
            per_kind.add_metric([kind.value], math.nan if stops is None else counts[kind])
        for stop in stops or ():
            per_scope.add_metric([stop.kind.value, stop.key], 1.0)
        yield per_kind
        yield per_scope

    def _closed(self) -> list[ScopedStop] | None:
        listing = getattr(self.store, "scoped_stops", None)
        if listing is None:
            return []
        try:
            return [s for s in listing() if s.closed]
        except StoreUnavailable:
            return None  # a scrape must not raise, and unknown is not "open"


COLLECTOR = ScopeCollector()
REGISTRY.register(COLLECTOR)
