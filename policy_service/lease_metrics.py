"""Gauge of the dead-man leases per state, read from the database when scraped (every replica
agrees). One series per state (four): principals are not labels here, GetLiveStatus names them.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from policy_service.domain.leases import Lease, LeaseState
from policy_service.domain.ports import StoreUnavailable


class LeaseCollector(Collector):
    def __init__(self) -> None:
        self.store: object | None = None  # the SqlStore; set by register_state_gauges

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # nothing read at registration: the store may not exist yet

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "livegate_dead_man_leases",
            "Dead-man leases per state (ACTIVE, LAPSED, STOPPED, RELEASED); NaN when unreadable",
            labels=["state"],
        )
        leases = self._leases()
        now_us = time.time_ns() // 1000
        counts = Counter(lease.state(now_us) for lease in leases or ())
        for state in LeaseState:
            gauge.add_metric([state.value], math.nan if leases is None else counts[state])
        yield gauge

    def _leases(self) -> list[Lease] | None:
        listing = getattr(self.store, "leases", None)
        if listing is None:
            return []
        try:
            return list(listing())
        except StoreUnavailable:
            return None  # a scrape must not raise, and unknown is not "none"


COLLECTOR = LeaseCollector()
REGISTRY.register(COLLECTOR)
