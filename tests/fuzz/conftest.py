"""Fuzz fixtures: one real policy service per module; one real writer over the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.policy_target import PolicyTarget, policy_target
from tests.fuzz.writer_target import WriterTarget, writer_target
from tests.support.postgres import PostgresCluster, postgres_cluster


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


# Both backends: PostgreSQL refuses text that SQLite stores (NUL), so a check that only holds
# on one of them would pass here on SQLite alone.
@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def policy(
    request: pytest.FixtureRequest, dev_pki: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicyTarget]:
    workdir = tmp_path_factory.mktemp("fuzz-policy")
    if request.param == "postgres":
        db_url = request.getfixturevalue("pg").create_database()
    else:
        db_url = f"sqlite:///{workdir / 'policy.db'}"
    with policy_target(dev_pki, workdir, db_url, request.param) as target:
        yield target


@pytest.fixture(scope="module")
def writer(dev_pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WriterTarget]:
    with writer_target(dev_pki, tmp_path_factory.mktemp("fuzz-writer")) as target:
        yield target
