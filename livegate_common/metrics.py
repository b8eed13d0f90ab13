"""Prometheus metrics both services export, and the interceptor that counts every RPC."""

from __future__ import annotations

import contextvars
import time
from typing import Any, Final

import grpc
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import start_http_server as _start_http_server

from livegate_common.interceptors import PerMethodInterceptor

current_method: contextvars.ContextVar[str] = contextvars.ContextVar("current_method", default="")

_LATENCY_BUCKETS: Final = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip

# In the writer, livegate_request_seconds{method=SubmitOrder} is the broker round trip as the
# writer sees it; livegate_writer_call_seconds is the same call as the policy service sees it.
REQUESTS = Counter(
    "livegate_requests_total", "RPCs handled, by method and status code", ["method", "code"]
)
REFUSALS = Counter(
    "livegate_refusals_total", "Refusals with a machine-readable reason", ["method", "reason"]
)
LATENCY = Histogram(
    "livegate_request_seconds", "Server-side RPC latency", ["method"], buckets=_LATENCY_BUCKETS
)
WRITER_LATENCY = Histogram(
    "livegate_writer_call_seconds", "Policy: time spent in calls to the writer", ["method"],
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip
# Policy on SQLite: how many writers shared each durable COMMIT (group commit). Mostly 1 when
# idle; under load it shows how far the fsync is amortised.
COMMIT_BATCH = Histogram(
    "livegate_policy_commit_batch_writers", "Policy, SQLite: writers sharing one COMMIT",
    buckets=(1, 2, 4, 8, 16, 32),
)  # fmt: skip
# A refusal or failure that could not be audited (the audit store was down): each one is also
# a CRITICAL log line with its request id. Alert on any increase.
UNAUDITED = Counter(
    "livegate_unaudited_total",
    "Refusals and failures that could not be audited, by method and reason",
    ["method", "reason"],
)
KILL_SWITCH_CLOSED = Gauge("livegate_kill_switch_closed", "1 when the kill switch is closed")
# REDUCING is neither: cancels and position-reducing orders pass, the closed gauge reads 0.
KILL_SWITCH_REDUCING = Gauge(
    "livegate_kill_switch_reducing", "1 when the kill switch is REDUCING (reduce-only)"
)
# Policy: how much of each risk limit the last checked write used (used / bound; above 1 was
# refused). A floor (min_excess_liquidity) reports bound / value the same way.
LIMIT_USE = Gauge(
    "livegate_limit_use_ratio", "Policy: the last checked write's use of a limit", ["limit"]
)
LIMIT_USE_MAX = Gauge(
    "livegate_limit_use_ratio_max", "Policy: the highest use of a limit since start", ["limit"]
)
_use_max: dict[str, float] = {}


def observe_use(limit: str, used: object, bound: object) -> None:
    """Record USED against BOUND (numbers) for LIMIT; a zero bound records nothing."""
    try:
        ratio = float(used) / float(bound)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return
    LIMIT_USE.labels(limit=limit).set(ratio)
    if ratio > _use_max.get(limit, float("-inf")):
        _use_max[limit] = ratio
        LIMIT_USE_MAX.labels(limit=limit).set(ratio)


def record_refusal(reason: str) -> None:
    REFUSALS.labels(method=current_method.get() or "-", reason=reason).inc()


def record_unaudited(method: str, reason: str) -> None:
    UNAUDITED.labels(method=method or "-", reason=reason or "-").inc()


def start_exporter(address: str, registry: CollectorRegistry = REGISTRY) -> int:
    """Serve /metrics on HOST:PORT (loopback by default in config); returns the bound port."""
    host, _, port = address.rpartition(":")
    server, _thread = _start_http_server(int(port), addr=host or "127.0.0.1", registry=registry)
    return int(server.server_port)


class MetricsInterceptor(PerMethodInterceptor):
    """Counts and times every unary call; sets current_method for refusal counting."""

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        return _timed(handler, method.rsplit("/", 1)[-1])


def _timed(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    if handler.unary_unary is None:
        return handler
    behavior = handler.unary_unary
    latency = LATENCY.labels(method=method)
    counters: dict[str, Any] = {}  # code -> this method's counter child

    def timed(request: Any, context: grpc.ServicerContext) -> Any:
        token = current_method.set(method)
        started = time.perf_counter()
        code = "OK"
        try:
            return behavior(request, context)
        except Exception:
            code = _code_name(context, default="UNKNOWN")
            raise
        finally:
            if code == "OK":
                code = _code_name(context, default="OK")
            latency.observe(time.perf_counter() - started)
            counter = counters.get(code)
            if counter is None:
                counter = counters[code] = REQUESTS.labels(method=method, code=code)
            counter.inc()
            current_method.reset(token)

    return grpc.unary_unary_rpc_method_handler(
        timed,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _code_name(context: grpc.ServicerContext, default: str) -> str:
    try:
        code = context.code()  # type: ignore[attr-defined]
    except AttributeError:
        return default
    return code.name if isinstance(code, grpc.StatusCode) else default
