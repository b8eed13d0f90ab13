"""Fuzz fixtures: one real policy service per module; one real writer over the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.policy_target import PolicyTarget, policy_target
from tests.fuzz.writer_target import WriterTarget, writer_target


@pytest.fixture(scope="module")
def policy(dev_pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolicyTarget]:
    with policy_target(dev_pki, tmp_path_factory.mktemp("fuzz-policy")) as target:
        yield target


@pytest.fixture(scope="module")
def writer(dev_pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WriterTarget]:
    with writer_target(dev_pki, tmp_path_factory.mktemp("fuzz-writer")) as target:
        yield target
