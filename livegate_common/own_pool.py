"""Operator calls on a thread pool of their own, so a full pool of slow writes never queues them."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent import futures
from typing import Any

import grpc

from livegate_common.interceptors import PerMethodInterceptor


class OwnPool(PerMethodInterceptor):
    """Serve the named methods (short names, e.g. "SetKillSwitch") from POOL.

    Every worker of the server's pool can be busy with a write that waits on a slow broker;
    a kill-switch close queued behind them would come back only after they ended. grpcio runs
    a unary behaviour in its `experimental_thread_pool` attribute's pool when it has one, so
    the outermost handler of these methods carries it.
    """

    def __init__(self, methods: Iterable[str], pool: futures.ThreadPoolExecutor):
        super().__init__()
        self._methods = frozenset(methods)
        self._pool = pool

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if handler.unary_unary is None or method.rsplit("/", 1)[-1] not in self._methods:
            return handler
        inner = handler.unary_unary

        def behavior(request: Any, context: grpc.ServicerContext) -> Any:
            return inner(request, context)

        behavior.experimental_thread_pool = self._pool  # type: ignore[attr-defined]
        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
