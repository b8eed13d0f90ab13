"""Fault-test fixtures: one provisioned OpenBao and one PostgreSQL cluster per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from livegate_common.vault_layout import provision
from tests.support.postgres import PostgresCluster, postgres_cluster
from tests.support.vault import DevVault, dev_vault


@pytest.fixture(scope="session")
def faults_vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        provision(started.client())
        yield started


@pytest.fixture(scope="session")
def faults_pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture()
def pg_url(faults_pg: PostgresCluster) -> str:
    return faults_pg.create_database()
