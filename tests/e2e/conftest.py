"""End-to-end fixtures: one provisioned OpenBao per session, a whole stack per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livegate_common.vault_layout import provision
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault, dev_vault


@pytest.fixture(scope="session")
def e2e_vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        provision(started.client())
        yield started


@pytest.fixture
def stack(dev_pki: Path, tmp_path: Path, e2e_vault: DevVault) -> Iterator[Stack]:
    with live_stack(dev_pki, tmp_path, e2e_vault) as running:
        yield running
