"""Fixtures: an in-process gateway simulator per test and ib_async clients bound to it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    # The editable install may predate gateway_sim; the repo root makes it importable anyway.
    sys.path.insert(0, str(ROOT))

from gateway_sim import GatewaySimulator, SimConfig  # noqa: E402
from tests.gateway_sim.helpers import Clients  # noqa: E402

SERVER_VERSIONS = (176, 178)


@pytest.fixture(params=SERVER_VERSIONS, ids=lambda v: f"v{v}")
def server_version(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def sim_factory(server_version: int) -> Iterator[Callable[..., GatewaySimulator]]:
    started: list[GatewaySimulator] = []

    def make(**overrides: Any) -> GatewaySimulator:
        config = replace(SimConfig(max_server_version=server_version, port=0), **overrides)
        sim = GatewaySimulator(config).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(sim_factory: Callable[..., GatewaySimulator]) -> GatewaySimulator:
    return sim_factory()


@pytest.fixture
def clients() -> Iterator[Clients]:
    c = Clients()
    yield c
    c.close()
