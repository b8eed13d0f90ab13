"""Risk tests over the whole stack: simulator, OpenBao, the real writer, policy replicas.

Each test that checks a bound runs on SQLite and on PostgreSQL (db_url is parametrized, as in
the policy tests, whose PostgreSQL cluster and database fixtures these share).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.policy.conftest import db_url, pg, pg_url  # noqa: F401 - SQLite and PostgreSQL
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault

MakeStack = Callable[..., Stack]


@pytest.fixture
def make_stack(dev_pki: Path, tmp_path: Path, stack_vault: DevVault) -> Iterator[MakeStack]:
    """make_stack(db_url=..., replicas=1, limits={...}, instruments=[...], policy_overrides={...},
    clock=...) -> a running stack with the checklist acknowledged and the kill switch open."""
    with ExitStack() as cleanup:
        counter = iter(range(10))

        def make(**kwargs: Any) -> Stack:
            workdir = tmp_path / f"stack-{next(counter)}"
            workdir.mkdir()
            return cleanup.enter_context(live_stack(dev_pki, workdir, stack_vault, **kwargs))

        yield make
