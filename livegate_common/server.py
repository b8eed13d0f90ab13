"""The gRPC server factory both services use: mTLS, principal check, health, reflection."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from typing import Final

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from livegate_common.config import ServerConfig
from livegate_common.identity import PrincipalMap, RequireMappedPrincipal
from livegate_common.malformed import RefuseMalformedRequests
from livegate_common.metrics import MetricsInterceptor
from livegate_common.own_pool import OwnPool
from livegate_common.refusals import PlumbingRefusal, RefusalSink
from livegate_common.tls import server_credentials

log = logging.getLogger(__name__)

Registrar = Callable[[grpc.Server], None]

# What clients may ping (gRPC doc/keepalive.md): core's default lets a client ping once per
# 5 minutes and only with a call in flight, and answers more with GOAWAY ENHANCE_YOUR_CALM.
# livegate's clients (livegate_client, the policy's writer channel) ping every 30 s, idle or
# not, to notice a dead peer between orders: permit one ping per 10 s, with or without calls.
MIN_CLIENT_PING_INTERVAL_MS: Final = 10_000
PING_POLICY: Final[tuple[tuple[str, int], ...]] = (
    ("grpc.http2.min_ping_interval_without_data_ms", MIN_CLIENT_PING_INTERVAL_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_ping_strikes", 2),
)


def create_server(
    config: ServerConfig,
    principals: PrincipalMap,
    registrars: Sequence[Registrar],
    service_names: Iterable[str],
    *,
    max_workers: int = 16,
    extra_interceptors: Sequence[grpc.ServerInterceptor] = (),
    on_refusal: RefusalSink | None = None,
    operator_methods: Iterable[str] = (),
    operator_workers: int = 4,
    pools: Sequence[tuple[str, Iterable[str], int]] = (),
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """Build and bind (not start) a server; returns it with its bound port and health servicer.

    ON_REFUSAL receives the refusals the plumbing decides (unmapped SAN, undecodable request),
    so a service that audits every refusal can audit these too; they are logged either way.
    OPERATOR_METHODS run on a pool of OPERATOR_WORKERS of their own (see OwnPool); each of
    POOLS (thread name prefix, methods, workers) gives more methods a pool of their own.
    """
    names = list(service_names)

    def refused(refusal: PlumbingRefusal) -> None:
        log.warning(
            "refused before the servicer",
            extra={"method": refusal.method, "reason": refusal.reason, "sans": refusal.sans},
        )
        if on_refusal is not None:
            on_refusal(refusal)

    operator_pool = futures.ThreadPoolExecutor(
        max_workers=operator_workers, thread_name_prefix="grpc-operator"
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=[
            # Outermost: grpcio reads the pool off the handler it is finally given.
            OwnPool(operator_methods, operator_pool),
            *(
                OwnPool(methods, futures.ThreadPoolExecutor(workers, thread_name_prefix=prefix))
                for prefix, methods, workers in pools
            ),
            MetricsInterceptor(),
            RequireMappedPrincipal(principals, refused),
            *extra_interceptors,
            # Innermost: the principal check runs before any request byte is decoded.
            RefuseMalformedRequests(refused),
        ],
        options=[("grpc.so_reuseport", 0), *PING_POLICY],
    )
    for register in registrars:
        register(server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    port = server.add_secure_port(config.listen, server_credentials(config.tls))
    if port == 0:
        raise OSError(f"could not bind {config.listen}")
    for name in ["", *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    return server, port, health_servicer


def mark_serving(
    health_servicer: health.HealthServicer, names: Iterable[str], serving: bool
) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ["", *names]:
        health_servicer.set(name, status)


def serve_until_signalled(
    server: grpc.Server,
    health_servicer: health.HealthServicer,
    names: Iterable[str],
    grace_s: float = 5.0,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Block until SIGINT/SIGTERM, then stop gracefully: NOT_SERVING first, then drain."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    names = list(names)
    try:
        stop.wait()
    finally:
        log.info("stopping", extra={"grace_s": grace_s})
        mark_serving(health_servicer, names, False)
        server.stop(grace_s).wait(grace_s + 1)
        if on_stop is not None:
            on_stop()
        log.info("stopped")
