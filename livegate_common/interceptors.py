"""A server interceptor that wraps each method's handler once, not on every call."""

from __future__ import annotations

from collections.abc import Callable

import grpc


class PerMethodInterceptor(grpc.ServerInterceptor):
    """grpc asks every interceptor for the handler on every call; this builds it once per method.

    Subclasses say how to wrap a method's handler in wrap(). Unknown method names are not
    cached (continuation gives None): they come from callers and would grow the cache.
    """

    def __init__(self) -> None:
        self._built: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        built = self._built.get(method)
        if built is not None:
            return built
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        built = self._built[method] = self.wrap(handler, method)
        return built

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        raise NotImplementedError
