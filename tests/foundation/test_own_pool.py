"""Operator methods have a pool of their own: a close is served while every worker is busy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import grpc
import pytest

from livegate_common.config import ServerConfig
from livegate_common.identity import PrincipalMap
from livegate_common.pki import spiffe_id
from livegate_common.server import create_server
from livegate_common.tls import TLSFiles
from policy_service.server import LEASE_METHODS as POLICY_LEASE_METHODS
from policy_service.server import OPERATOR_METHODS as POLICY_OPERATOR_METHODS
from tests.support.grpc_clients import channel_as
from writer_service.server import OPERATOR_METHODS as WRITER_OPERATOR_METHODS

SERVICE = "livegate.test.Busy"


@pytest.fixture
def busy_server(dev_pki: Path) -> Iterator[tuple[int, threading.Event]]:
    """One worker; Write blocks until the event is set, SetKillSwitch answers at once."""
    release = threading.Event()

    def write(_request: bytes, _context: grpc.ServicerContext) -> bytes:
        release.wait(30)
        return b"written"

    def set_kill_switch(_request: bytes, _context: grpc.ServicerContext) -> bytes:
        return b"closed"

    def renew(_request: bytes, _context: grpc.ServicerContext) -> bytes:
        return threading.current_thread().name.encode()

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Write": grpc.unary_unary_rpc_method_handler(write),
            "SetKillSwitch": grpc.unary_unary_rpc_method_handler(set_kill_switch),
            "RenewLease": grpc.unary_unary_rpc_method_handler(renew),
        },
    )
    principals = PrincipalMap({"operator": ([spiffe_id("operator")], ["killswitch.operate"])})
    tls = TLSFiles(ca=dev_pki / "ca.pem", cert=dev_pki / "policy.pem", key=dev_pki / "policy.key")
    config = ServerConfig(listen="127.0.0.1:0", tls=tls)
    server, port, _health = create_server(
        config,
        principals,
        [lambda s: s.add_generic_rpc_handlers((handler,))],
        [SERVICE],
        max_workers=1,
        operator_methods=("SetKillSwitch",),
        pools=[("grpc-lease", ("RenewLease",), 1)],
    )
    server.start()
    try:
        yield port, release
    finally:
        release.set()
        server.stop(0).wait(5)


def test_operator_call_when_every_worker_is_busy_then_served_from_its_own_pool(
    busy_server: tuple[int, threading.Event], dev_pki: Path
) -> None:
    port, release = busy_server
    channel = channel_as(dev_pki, "operator", port)
    try:
        write = channel.unary_unary(f"/{SERVICE}/Write")
        close = channel.unary_unary(f"/{SERVICE}/SetKillSwitch")
        busy: list[Future[bytes]] = [write.future(b"", timeout=30) for _ in range(3)]
        # The only worker holds a write and two more queue for it; the close must not.
        answer = close(b"", timeout=20)
        assert answer == b"closed"
        assert not any(f.done() for f in busy)  # no write could have ended: none released
        release.set()
        assert [f.result(timeout=20) for f in busy] == [b"written"] * 3
    finally:
        channel.close()


def test_lease_renewal_when_every_worker_is_busy_then_served_from_a_pool_of_its_own(
    busy_server: tuple[int, threading.Event], dev_pki: Path
) -> None:
    """A renewal held up by writes waiting on the broker would lapse a healthy client."""
    port, release = busy_server
    channel = channel_as(dev_pki, "operator", port)
    try:
        write = channel.unary_unary(f"/{SERVICE}/Write")
        renew = channel.unary_unary(f"/{SERVICE}/RenewLease")
        busy: list[Future[bytes]] = [write.future(b"", timeout=30) for _ in range(2)]
        served_by = renew(b"", timeout=20)
        assert served_by.startswith(b"grpc-lease") and not any(f.done() for f in busy)
        release.set()
        assert [f.result(timeout=20) for f in busy] == [b"written"] * 2
    finally:
        channel.close()


def test_operator_methods_when_listed_then_name_both_services_switch_calls() -> None:
    assert {"SetKillSwitch", "GetKillSwitch"} <= set(POLICY_OPERATOR_METHODS)
    assert {"SetKillSwitch", "GetKillSwitch", "CancelAllOrders"} <= set(WRITER_OPERATOR_METHODS)
    assert set(POLICY_LEASE_METHODS) == {"RenewLease", "ReleaseLease"}
    assert not set(POLICY_LEASE_METHODS) & set(POLICY_OPERATOR_METHODS)  # closes never wait
