"""What every fuzzed call must show: OK or a clear refusal, a healthy server, no stray state."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from livegate_common.errors import error_info

UPPER_SNAKE: Final = re.compile(r"[A-Z][A-Z0-9_]*")
# Never UNKNOWN or INTERNAL: those mean the service did not understand its own input.
CLEAR_CODES: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.UNAVAILABLE,
    }
)
CALL_TIMEOUT_S: Final = 15.0


def invoke(method: Callable[..., Any], request: Any) -> tuple[Any, grpc.RpcError | None]:
    """(response, None) or (None, the refusal)."""
    try:
        return method(request, timeout=CALL_TIMEOUT_S), None
    except grpc.RpcError as err:
        return None, err


def reason_of(err: grpc.RpcError) -> str:
    info = error_info(err)
    return info.reason if info is not None else ""


def assert_clear_refusal(
    err: grpc.RpcError, codes: frozenset[grpc.StatusCode] = CLEAR_CODES
) -> str:
    """A status code from the contract with an ErrorInfo (livegate.v1, UPPER_SNAKE reason)."""
    code = err.code()
    assert code in codes, f"{code} {err.details()!r}"
    info = error_info(err)
    assert info is not None, f"{code} without ErrorInfo: {err.details()!r}"
    assert info.domain == "livegate.v1"
    assert UPPER_SNAKE.fullmatch(info.reason), info.reason
    return info.reason


def assert_serving(channel: grpc.Channel) -> None:
    """The server still answers health checks as SERVING."""
    stub = health_pb2_grpc.HealthStub(channel)
    answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
