"""Fixtures of the broker's-truth tests: the real policy, the real writer, the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.broker_truth.flows import Desk
from tests.policy.conftest import pg
from tests.policy.harness import OTHER_ACCOUNT
from tests.support.postgres import PostgresCluster
from tests.support.stack import live_stack
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT

__all__ = ["desk", "pg", "two_accounts", "two_replicas"]


@contextmanager
def _desk(
    dev_pki: Path, factory: pytest.TempPathFactory, vault: DevVault, name: str, **stack: Any
) -> Iterator[Desk]:
    """A stack for a module's cases (each with fresh previews, keys and scripts). Its broker
    timeout (tests.support.stack.BROKER_TIMEOUT_S) is what an answer never sent costs."""
    with live_stack(dev_pki, factory.mktemp(name), vault, **stack) as running:
        yield Desk(running)


@pytest.fixture(scope="module")
def desk(
    dev_pki: Path, tmp_path_factory: pytest.TempPathFactory, stack_vault: DevVault
) -> Iterator[Desk]:
    with _desk(dev_pki, tmp_path_factory, stack_vault, "desk") as running:
        yield running


@pytest.fixture(scope="module")
def two_accounts(
    dev_pki: Path, tmp_path_factory: pytest.TempPathFactory, stack_vault: DevVault
) -> Iterator[Desk]:
    """A desk whose writer, simulator and policy hold ACCOUNT and OTHER_ACCOUNT."""
    accounts = (ACCOUNT, OTHER_ACCOUNT)
    with _desk(dev_pki, tmp_path_factory, stack_vault, "accounts", accounts=accounts) as running:
        yield running


@pytest.fixture(scope="module")
def two_replicas(
    dev_pki: Path,
    tmp_path_factory: pytest.TempPathFactory,
    stack_vault: DevVault,
    pg: PostgresCluster,
) -> Iterator[Desk]:
    """Two policy replicas on one PostgreSQL database (and one account-hash key)."""
    db_url = pg.create_database()
    with _desk(
        dev_pki, tmp_path_factory, stack_vault, "replicas", db_url=db_url, replicas=2
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("desk", "two_accounts", "two_replicas"):
        if name in request.fixturenames:
            request.getfixturevalue(name).stack.sim.clear_faults()
