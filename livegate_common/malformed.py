"""Request bytes that do not decode as the method's message: INVALID_ARGUMENT, not INTERNAL."""

from __future__ import annotations

from typing import Any, Final

import grpc

from livegate_common.errors import abort
from livegate_common.identity import peer_sans
from livegate_common.interceptors import PerMethodInterceptor
from livegate_common.refusals import PlumbingRefusal, RefusalSink, request_id_of

REASON_MALFORMED: Final = "MALFORMED_REQUEST"


class RefuseMalformedRequests(PerMethodInterceptor):
    """Decode unary requests here, so junk gets a clear status with a reason.

    Left to grpc, a request that fails to decode (truncated, or invalid UTF-8 in a string
    field) is answered INTERNAL "Exception deserializing request!" with no ErrorInfo.
    """

    def __init__(self, on_refusal: RefusalSink):
        super().__init__()
        self._on_refusal = on_refusal

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if not handler.unary_unary or handler.request_deserializer is None:
            return handler
        parse, behavior, sink = handler.request_deserializer, handler.unary_unary, self._on_refusal

        def decoded(raw: bytes, context: grpc.ServicerContext) -> Any:
            try:
                request = parse(raw)
            except Exception:  # DecodeError, or a string field that is not UTF-8
                message = "the request does not decode as the method's message"
                metadata = {"length": str(len(raw))}
                sink(
                    PlumbingRefusal(
                        method=method, sans=tuple(peer_sans(context)), code="INVALID_ARGUMENT",
                        reason=REASON_MALFORMED, message=message, step=2,
                        request_id=request_id_of(context.invocation_metadata()),
                        metadata=metadata,
                    )
                )  # fmt: skip
                abort(
                    context, grpc.StatusCode.INVALID_ARGUMENT, REASON_MALFORMED, message, metadata
                )
            return behavior(request, context)

        return grpc.unary_unary_rpc_method_handler(
            decoded, request_deserializer=None, response_serializer=handler.response_serializer
        )
