"""gRPC statuses that carry a machine-readable google.rpc.ErrorInfo reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from livegate_common.metrics import record_refusal

ERROR_DOMAIN: Final = "livegate.v1"


def status_with_reason(
    code: grpc.StatusCode,
    reason: str,
    message: str,
    metadata: Mapping[str, str] | None = None,
) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(
        reason=reason,
        domain=ERROR_DOMAIN,
        metadata={k: str(v) for k, v in (metadata or {}).items()},
    )
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(
        code=getattr(code_pb2, code.name), message=f"{reason}: {message}", details=[detail]
    )
    return rpc_status.to_status(status)


def abort(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    reason: str,
    message: str,
    metadata: Mapping[str, str] | None = None,
) -> NoReturn:
    record_refusal(reason)
    context.abort_with_status(status_with_reason(code, reason, message, metadata))
    raise AssertionError("abort_with_status returned")  # grpc raises; keeps type checkers honest


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo of a failed call, or None when the status carries none."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None
