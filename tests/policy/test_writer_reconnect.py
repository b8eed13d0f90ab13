"""The policy's channel to its writer comes back within a second of the writer: every deployment
restarts the writer, and the kill switch cannot open until the policy reaches it again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from livegate_common.config import ServerConfig
from livegate_common.identity import PrincipalMap
from livegate_common.pki import spiffe_id
from livegate_common.server import create_server
from livegate_common.tls import TLSFiles
from policy_service.config import WriterClientConfig
from policy_service.domain.ports import WriterError
from policy_service.writer_client import WriterClient
from tests.support.net import free_port

# Long enough for gRPC's default backoff (1 s, x1.6 per failure) to grow past 5 s between tries.
OUTAGE_S = 9.5


def _writer_like(dev_pki: Path, port: int) -> grpc.Server:
    """A server on PORT with the writer's certificate; it maps only the policy identity."""
    tls = TLSFiles(dev_pki / "ca.pem", dev_pki / "writer.pem", dev_pki / "writer.key")
    principals = PrincipalMap({"policy": ([spiffe_id("policy")], ["writer.call"])})
    server, _, _ = create_server(ServerConfig(f"127.0.0.1:{port}", tls), principals, [], [])
    server.start()
    return server


def _reached(client: WriterClient) -> bool:
    """True once a call gets through to the server (it has no WriterService: UNIMPLEMENTED)."""
    try:
        client.permission_ok()
    except WriterError as err:
        return err.kind != "UNAVAILABLE"
    return True


@pytest.fixture
def client(dev_pki: Path) -> Iterator[tuple[WriterClient, int]]:
    port = free_port()
    config = WriterClientConfig(
        address=f"127.0.0.1:{port}",
        server_name="localhost",
        expected_san="",
        tls=TLSFiles(dev_pki / "ca.pem", dev_pki / "policy.pem", dev_pki / "policy.key"),
        # Built here, not loaded: no writer behind it writes, so no deadline derives from this.
        broker_timeout_s=0.1,
        deadline_s=1.0,
        sync_interval_s=2.0,
        open_orders_check_s=5.0,
    )
    writer_client = WriterClient(config)
    try:
        yield writer_client, port
    finally:
        writer_client.close()


def test_writer_client_when_writer_returns_after_an_outage_then_reaches_it_within_two_seconds(
    client: tuple[WriterClient, int], dev_pki: Path
) -> None:
    writer_client, port = client
    server = _writer_like(dev_pki, port)
    assert _reached(writer_client)
    server.stop(0).wait(5)
    # The policy's sync loop keeps calling while the writer is away, as it does every 2 s.
    outage_end = time.monotonic() + OUTAGE_S
    while time.monotonic() < outage_end:
        assert not _reached(writer_client)
        time.sleep(0.2)
    server = _writer_like(dev_pki, port)
    back = time.monotonic()
    try:
        while not _reached(writer_client) and time.monotonic() - back < 10:
            time.sleep(0.05)
        took = time.monotonic() - back
    finally:
        server.stop(0).wait(5)
    assert took < 2.0, f"the policy reached the restarted writer after {took:.1f}s"
