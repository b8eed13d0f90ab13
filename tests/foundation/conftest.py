"""A real mTLS server built by the shared factory, with a method that names the caller."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from livegate_common.config import ServerConfig
from livegate_common.identity import PrincipalMap
from livegate_common.pki import spiffe_id
from livegate_common.server import create_server, mark_serving
from livegate_common.tls import TLSFiles

WHOAMI = "/livegate.test.Echo/WhoAmI"


@dataclass
class EchoServer:
    port: int
    pki: Path


@pytest.fixture
def echo_server(dev_pki: Path) -> Iterator[EchoServer]:
    principals = PrincipalMap(
        {
            "upstream": ([spiffe_id("upstream")], ["live.submit"]),
            "operator": ([spiffe_id("operator")], ["killswitch.operate"]),
        }
    )

    def whoami(_request: bytes, context: grpc.ServicerContext) -> bytes:
        principal = principals.resolve(context)
        return (principal.name if principal else "?").encode()

    handler = grpc.method_handlers_generic_handler(
        "livegate.test.Echo",
        {"WhoAmI": grpc.unary_unary_rpc_method_handler(whoami)},
    )
    config = ServerConfig(
        listen="127.0.0.1:0",
        tls=TLSFiles(
            ca=dev_pki / "ca.pem", cert=dev_pki / "policy.pem", key=dev_pki / "policy.key"
        ),
    )
    server, port, health = create_server(
        config,
        principals,
        [lambda s: s.add_generic_rpc_handlers((handler,))],
        ["livegate.test.Echo"],
    )
    server.start()
    mark_serving(health, ["livegate.test.Echo"], True)
    try:
        yield EchoServer(port=port, pki=dev_pki)
    finally:
        server.stop(0).wait(5)
