"""The policy service proves the writer's identity from its certificate, not just its CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livegate_common.pki import spiffe_id
from livegate_common.tls import TLSFiles
from policy_service.writer_identity import IdentityCache, check
from tests.policy.fake_writer import RunningFakeWriter, start_fake_writer
from tests.support.net import free_port


def _policy_tls(pki: Path) -> TLSFiles:
    return TLSFiles(pki / "ca.pem", pki / "policy.pem", pki / "policy.key")


@pytest.fixture
def impostor(dev_pki: Path, tmp_path: Path) -> Iterator[RunningFakeWriter]:
    """A server from our own CA, valid for localhost, but holding the policy's certificate."""
    pki = tmp_path / "impostor-pki"
    pki.mkdir()
    (pki / "ca.pem").write_bytes((dev_pki / "ca.pem").read_bytes())
    (pki / "writer.pem").write_bytes((dev_pki / "policy.pem").read_bytes())
    (pki / "writer.key").write_bytes((dev_pki / "policy.key").read_bytes())
    running = start_fake_writer(pki)
    try:
        yield running
    finally:
        running.stop()


def test_check_when_writer_presents_its_san_then_ok(
    dev_pki: Path, writer: RunningFakeWriter
) -> None:
    result = check(
        f"localhost:{writer.port}", _policy_tls(dev_pki), "localhost", spiffe_id("writer"), 5
    )
    assert result.ok, result.detail


def test_check_when_another_identity_of_our_ca_answers_then_refused(
    dev_pki: Path, impostor: RunningFakeWriter
) -> None:
    result = check(
        f"localhost:{impostor.port}", _policy_tls(dev_pki), "localhost", spiffe_id("writer"), 5
    )
    assert not result.ok
    assert spiffe_id("policy") in result.detail


def test_check_when_nobody_listens_then_refused_not_raised(dev_pki: Path) -> None:
    result = check(
        f"127.0.0.1:{free_port()}", _policy_tls(dev_pki), "localhost", spiffe_id("writer"), 2
    )
    assert not result.ok
    assert "unreadable" in result.detail


def test_cache_when_check_failed_then_next_use_checks_again(
    dev_pki: Path, writer: RunningFakeWriter
) -> None:
    port = free_port()
    cache = IdentityCache(
        f"localhost:{port}", _policy_tls(dev_pki), "localhost", spiffe_id("writer"), 2
    )
    assert not cache.current().ok
    cache._args = (f"localhost:{writer.port}", *cache._args[1:])  # the writer comes up
    assert cache.current().ok
