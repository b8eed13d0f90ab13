"""Fixtures every test folder may use: the dev PKI, and a whole stack on a shared OpenBao."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livegate_common.pki import init_dev_pki
from livegate_common.vault_layout import provision
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault, dev_vault


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and the dev identities (policy, writer, upstream, operator, approver).

    Test fixtures only: made at test time, never committed.
    """
    directory = tmp_path_factory.mktemp("pki")
    init_dev_pki(directory)
    return directory


@pytest.fixture(scope="session")
def stack_vault() -> Iterator[DevVault]:
    """One provisioned OpenBao per session, started only when a test asks for a stack."""
    with dev_vault() as started:
        provision(started.client())
        yield started


@pytest.fixture
def stack(dev_pki: Path, tmp_path: Path, stack_vault: DevVault) -> Iterator[Stack]:
    """Simulator, the W writer and a policy replica, the kill switch open; torn down after."""
    with live_stack(dev_pki, tmp_path, stack_vault) as running:
        yield running
