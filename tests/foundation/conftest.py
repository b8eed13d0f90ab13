"""A real mTLS server built by the shared factory, with a method that names the caller."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from livegate_common.config import ServerConfig
from livegate_common.identity import PrincipalMap
from livegate_common.pki import spiffe_id
from livegate_common.server import Registrar, create_server, mark_serving
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
    registrar: Registrar = lambda s: s.add_generic_rpc_handlers((handler,))  # noqa: E731
    with serving(dev_pki, principals, [registrar], ["livegate.test.Echo"]) as port:
        yield EchoServer(port=port, pki=dev_pki)


@contextmanager
def serving(
    pki: Path, principals: PrincipalMap, registrars: list[Registrar], names: list[str]
) -> Iterator[int]:
    """A started server from the shared factory, with the policy identity's certificate."""
    config = ServerConfig(
        listen="127.0.0.1:0",
        tls=TLSFiles(ca=pki / "ca.pem", cert=pki / "policy.pem", key=pki / "policy.key"),
    )
    server, port, health = create_server(config, principals, registrars, names)
    server.start()
    mark_serving(health, names, True)
    try:
        yield port
    finally:
        server.stop(0).wait(5)
