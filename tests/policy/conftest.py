"""Fixtures of the policy tests: a PostgreSQL cluster, a database per test, the fake writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.policy.fake_writer import RunningFakeWriter, start_fake_writer
from tests.policy.harness import Harness, built
from tests.support.postgres import PostgresCluster, postgres_cluster


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'policy.db'}"
    cluster: PostgresCluster = request.getfixturevalue("pg")
    return cluster.create_database()


@pytest.fixture()
def pg_url(pg: PostgresCluster) -> str:
    return pg.create_database()


@pytest.fixture()
def writer(dev_pki: Path) -> Iterator[RunningFakeWriter]:
    running = start_fake_writer(dev_pki)
    try:
        yield running
    finally:
        running.stop()


MakePolicy = Callable[..., Harness]


@pytest.fixture()
def make_policy(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, db_url: str
) -> Iterator[MakePolicy]:
    """make_policy(overrides={...}, limits={...}, open_switch=True) -> a started Harness."""
    with ExitStack() as stack:
        counter = iter(range(100))

        def make(open_switch: bool = True, **kwargs: Any) -> Harness:
            data = tmp_path / f"policy-{next(counter)}"
            harness = stack.enter_context(built(dev_pki, data, writer, db_url, **kwargs))
            if open_switch:
                harness.open_switch()
            return harness

        yield make


@pytest.fixture()
def policy(make_policy: MakePolicy) -> Harness:
    return make_policy()
