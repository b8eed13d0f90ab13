"""Risk tests over the whole stack: simulator, OpenBao, the real writer, policy replicas.

Each test that checks a bound runs on SQLite and on PostgreSQL (db_url is parametrized).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from livegate_common.vault_layout import provision
from tests.support.postgres import PostgresCluster, postgres_cluster
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault, dev_vault

MakeStack = Callable[..., Stack]


@pytest.fixture(scope="session")
def risk_vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        provision(started.client())
        yield started


@pytest.fixture(scope="session")
def risk_pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'policy.db'}"
    cluster: PostgresCluster = request.getfixturevalue("risk_pg")
    return cluster.create_database()


@pytest.fixture
def pg_url(risk_pg: PostgresCluster) -> str:
    return risk_pg.create_database()


@pytest.fixture
def make_stack(dev_pki: Path, tmp_path: Path, risk_vault: DevVault) -> Iterator[MakeStack]:
    """make_stack(db_url=..., replicas=1, limits={...}, instruments=[...], overrides={...},
    clock=...) -> a running stack with the kill switch open."""
    with ExitStack() as cleanup:
        counter = iter(range(10))

        def make(**kwargs: Any) -> Stack:
            workdir = tmp_path / f"stack-{next(counter)}"
            workdir.mkdir()
            return cleanup.enter_context(live_stack(dev_pki, workdir, risk_vault, **kwargs))

        yield make
