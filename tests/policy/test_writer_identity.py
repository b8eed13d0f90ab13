"""The policy service proves the writer's identity from its certificate, not just its CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from livegate_api.v1 import policy_pb2
from livegate_common.pki import spiffe_id
from livegate_common.tls import TLSFiles
from policy_service.writer_identity import IdentityCache, check
from tests.policy.fake_writer import RunningFakeWriter, start_fake_writer
from tests.policy.harness import built, reason_of
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


def test_policy_when_writer_address_holds_an_impostor_then_nothing_is_sent_to_it(
    dev_pki: Path, tmp_path: Path, impostor: RunningFakeWriter
) -> None:
    """Nothing reaches a peer that is not provably the writer, and live trading cannot open."""
    sqlite = f"sqlite:///{tmp_path / 'db' / 'policy.db'}"
    overrides = {"writer.expected_san": spiffe_id("writer")}
    with built(dev_pki, tmp_path / "p", impostor, sqlite, overrides=overrides) as policy:
        status = policy.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
        with pytest.raises(grpc.RpcError) as err:
            policy.open_switch()
    [writer] = [c for c in status.conditions if c.name == "writer.permission"]
    assert not writer.passed
    assert "WRITER_IDENTITY_MISMATCH" in writer.detail or spiffe_id("policy") in writer.detail
    assert not status.live_enabled
    assert reason_of(err.value) == "KILL_SWITCH_OPEN_REFUSED"
    assert impostor.servicer.calls() == []
