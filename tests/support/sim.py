"""The gateway simulator on a free loopback port, with a quote the writer's probe can price."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from gateway_sim import GatewaySimulator, SimConfig


def start_sim(**config: Any) -> GatewaySimulator:
    """Start a simulator (SimConfig keyword arguments); the caller stops it."""
    sim = GatewaySimulator(SimConfig(host="127.0.0.1", port=0, **config)).start()
    sim.set_quote("SPY", bid=Decimal("500.00"), ask=Decimal("500.10"), last=Decimal("500.05"))
    sim.set_quote("AAPL", bid=Decimal("189.20"), ask=Decimal("189.30"), last=Decimal("189.25"))
    return sim


@contextmanager
def running_sim(**config: Any) -> Iterator[GatewaySimulator]:
    sim = start_sim(**config)
    try:
        yield sim
    finally:
        sim.stop()
