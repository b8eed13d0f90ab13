"""Fixtures every test folder may use: the dev PKI in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from livegate_common.pki import init_dev_pki


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and the dev identities (policy, writer, upstream, operator, approver).

    Test fixtures only: made at test time, never committed.
    """
    directory = tmp_path_factory.mktemp("pki")
    init_dev_pki(directory)
    return directory
