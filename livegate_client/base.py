"""What the blocking and asyncio clients share: their channel, stub, and each call's policy."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import grpc

from livegate_api.v1 import policy_pb2_grpc
from livegate_client import retry
from livegate_client.calls import CallSpec
from livegate_client.errors import LivegateError, from_rpc_error

ChannelT = TypeVar("ChannelT")

# A write's attempts share this much time; a read gets less, and a single-shot call one attempt.
WRITE_RETRY = retry.RetryPolicy(total_deadline_s=30.0, attempt_timeout_s=10.0)
READ_RETRY = retry.RetryPolicy(total_deadline_s=10.0, attempt_timeout_s=5.0)
SINGLE_TIMEOUT_S = 15.0


class ClientBase(Generic[ChannelT]):
    def __init__(
        self,
        channel: ChannelT,
        *,
        write_retry: retry.RetryPolicy = WRITE_RETRY,
        read_retry: retry.RetryPolicy = READ_RETRY,
        single_timeout_s: float = SINGLE_TIMEOUT_S,
        owns_channel: bool = False,
    ):
        """WRITE_RETRY bounds a write's attempts, READ_RETRY a read's; SINGLE_TIMEOUT_S is the
        deadline of a call sent once (previews, approvals, operator actions); OWNS_CHANNEL:
        close() closes CHANNEL too."""
        self._channel = channel
        self._stub = policy_pb2_grpc.PolicyServiceStub(channel)
        self._write_retry = write_retry
        self._read_retry = read_retry
        self._single = retry.RetryPolicy(
            total_deadline_s=single_timeout_s, attempt_timeout_s=single_timeout_s, max_attempts=1
        )
        self._owns_channel = owns_channel

    def _policy(self, spec: CallSpec[Any]) -> retry.RetryPolicy:
        if not spec.retry:
            return self._single
        return self._write_retry if spec.idempotency_key else self._read_retry

    def _method(self, spec: CallSpec[Any]) -> Any:
        return getattr(self._stub, spec.method)

    @staticmethod
    def _decoder(spec: CallSpec[Any]) -> retry.Decode:
        def decode(error: grpc.RpcError, attempts: int) -> LivegateError:
            return from_rpc_error(
                error,
                request_id=spec.request_id,
                idempotency_key=spec.idempotency_key or None,
                attempts=attempts,
            )

        return decode
