"""Client fixtures: clients of the dev identities on the stack (tests/conftest.py) they ask for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from livegate_client import Client
from tests.client.spy import KeySpy, connect
from tests.support.stack import Stack

ClientFor = Callable[..., Client]


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
