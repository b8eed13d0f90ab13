"""Fixtures of the broker's-truth tests: the real policy, the real writer, the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_truth.flows import QUICK_POLICY, QUICK_WRITER, Desk
from tests.e2e.conftest import e2e_vault
from tests.policy.conftest import pg
from tests.policy.harness import OTHER_ACCOUNT
from tests.support.postgres import PostgresCluster
from tests.support.stack import live_stack
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT

__all__ = ["desk", "e2e_vault", "pg", "two_accounts", "two_replicas"]


@pytest.fixture(scope="module")
def desk(
    dev_pki: Path, tmp_path_factory: pytest.TempPathFactory, e2e_vault: DevVault
) -> Iterator[Desk]:
    """One stack for a module's cases (each uses fresh previews, keys and scripts)."""
    workdir = tmp_path_factory.mktemp("desk")
    with live_stack(
        dev_pki, workdir, e2e_vault, writer_overrides=QUICK_WRITER, policy_overrides=QUICK_POLICY
    ) as stack:
        yield Desk(stack)


@pytest.fixture(scope="module")
def two_accounts(
    dev_pki: Path, tmp_path_factory: pytest.TempPathFactory, e2e_vault: DevVault
) -> Iterator[Desk]:
    """A desk whose writer, simulator and policy hold ACCOUNT and OTHER_ACCOUNT."""
    workdir = tmp_path_factory.mktemp("two-accounts")
    with live_stack(
        dev_pki, workdir, e2e_vault, writer_overrides=QUICK_WRITER, policy_overrides=QUICK_POLICY,
        accounts=(ACCOUNT, OTHER_ACCOUNT),
    ) as stack:  # fmt: skip
        yield Desk(stack)


@pytest.fixture(scope="module")
def two_replicas(
    dev_pki: Path,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_vault: DevVault,
    pg: PostgresCluster,
) -> Iterator[Desk]:
    """Two policy replicas on one PostgreSQL database (and one account-hash key)."""
    workdir = tmp_path_factory.mktemp("replicas")
    with live_stack(
        dev_pki, workdir, e2e_vault, db_url=pg.create_database(), replicas=2,
        writer_overrides=QUICK_WRITER, policy_overrides=QUICK_POLICY,
    ) as stack:  # fmt: skip
        yield Desk(stack)


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("desk", "two_accounts", "two_replicas"):
        if name in request.fixturenames:
            request.getfixturevalue(name).stack.sim.clear_faults()
