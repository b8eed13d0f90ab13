"""Launcher fixtures: an OpenBao provisioned by the project's own code (every identity, role)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livegate_common.vault_layout import GATEWAY_LAYOUT, provision
from tests.support.gateways import private_tmpfs_dir
from tests.support.vault import DevVault, dev_vault


@pytest.fixture(scope="session")
def vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        provision(started.client())
        provision(started.client(), table=GATEWAY_LAYOUT)
        yield started


@pytest.fixture
def ini_dir() -> Iterator[Path]:
    """Where the launcher renders config.ini: 0700 on tmpfs, as the unit's RuntimeDirectory."""
    with private_tmpfs_dir() as directory:
        yield directory
