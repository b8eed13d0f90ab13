"""The client's channel: keepalive the servers permit, mTLS from files, a missing file named."""

from __future__ import annotations

from pathlib import Path

import pytest

from livegate_client import Client, TlsFiles
from livegate_client.channel import CHANNEL_OPTIONS, KEEPALIVE_TIME_MS
from livegate_common.server import MIN_CLIENT_PING_INTERVAL_MS, PING_POLICY
from tests.support.stack import Stack


def test_keepalive_when_compared_with_the_servers_ping_policy_then_never_too_often() -> None:
    """A ping more often than the server permits earns GOAWAY ENHANCE_YOUR_CALM."""
    server = dict(PING_POLICY)
    client = dict(CHANNEL_OPTIONS)
    assert KEEPALIVE_TIME_MS >= 2 * MIN_CLIENT_PING_INTERVAL_MS
    # The client pings while idle; the server must permit exactly that.
    assert client["grpc.keepalive_permit_without_calls"] == 1
    assert server["grpc.keepalive_permit_without_calls"] == 1


def test_connect_when_a_certificate_file_is_missing_then_names_it(tmp_path: Path) -> None:
    tls = TlsFiles.from_dir(tmp_path, "upstream")
    with pytest.raises(FileNotFoundError, match=r"upstream\.pem"):
        Client.connect("localhost:1", tls)


def test_connect_when_given_certificate_files_then_calls_the_gate_over_mtls(
    stack: Stack, dev_pki: Path
) -> None:
    with Client.connect(
        f"127.0.0.1:{stack.policy.port}",
        TlsFiles.from_dir(dev_pki, "operator"),
        server_name="localhost",  # the dev certificate names localhost, not the address
    ) as operator:
        status = operator.get_live_status()
    assert status.live_enabled and status.kill_switch is not None
