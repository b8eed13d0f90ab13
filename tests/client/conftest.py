"""Client fixtures: an OpenBao per session, a whole stack per test, clients by identity."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from livegate_client import Client
from livegate_common.vault_layout import provision
from tests.client.spy import KeySpy, connect
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault, dev_vault

ClientFor = Callable[..., Client]


@pytest.fixture(scope="session")
def client_vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        provision(started.client())
        yield started


@pytest.fixture
def stack(dev_pki: Path, tmp_path: Path, client_vault: DevVault) -> Iterator[Stack]:
    with live_stack(dev_pki, tmp_path, client_vault) as running:
        yield running


@pytest.fixture
def client_for(dev_pki: Path, stack: Stack) -> Iterator[ClientFor]:
    """client_for("upstream") -> a Client of that dev identity on the stack's first replica."""
    made: list[Client] = []

    def make(identity: str, spy: KeySpy | None = None, **options: object) -> Client:
        client = connect(dev_pki, stack.policy.port, identity, spy, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
