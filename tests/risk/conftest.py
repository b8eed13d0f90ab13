"""Risk tests over the whole stack: simulator, OpenBao, the real writer, policy replicas.

Each test that checks a bound runs on SQLite and on PostgreSQL (db_url is parametrized, as in
the policy tests, whose PostgreSQL cluster and database fixtures these share).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.policy.conftest import db_url, pg, pg_url  # noqa: F401 - SQLite and PostgreSQL
from tests.support.stack import MakeStack, stack_factory
from tests.support.vault import DevVault


@pytest.fixture
def make_stack(dev_pki: Path, tmp_path: Path, stack_vault: DevVault) -> Iterator[MakeStack]:
    """make_stack(db_url=..., replicas=1, limits={...}, instruments=[...], policy_overrides={...},
    clock=...) -> a running stack with the checklist acknowledged and the kill switch open."""
    with ExitStack() as cleanup:
        yield stack_factory(cleanup, dev_pki, tmp_path, stack_vault)
