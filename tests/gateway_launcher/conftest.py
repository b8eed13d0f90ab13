"""Launcher fixtures: an OpenBao provisioned by the project's own code (every identity, role)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from livegate_common.vault_layout import provision
from tests.support.vault import DevVault, dev_vault


@pytest.fixture(scope="session")
def vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        provision(started.client())
        yield started
