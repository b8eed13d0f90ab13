"""The retry schedule: jittered exponential backoff within a total deadline.

It is handed a `send(timeout)` that already holds the one request to send; it never sees a
key and cannot build a request, so every attempt of a call carries the same idempotency key.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc

from livegate_client.errors import LivegateError

R = TypeVar("R")
Decode = Callable[[grpc.RpcError, int], LivegateError]


@dataclass(frozen=True)
class RetryPolicy:
    """How long one logical call may take in all, and how its attempts are spaced."""

    total_deadline_s: float = 30.0
    attempt_timeout_s: float = 10.0
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 3.0
    multiplier: float = 2.0
    max_attempts: int = 100

    def __post_init__(self) -> None:
        if not 0 < self.attempt_timeout_s <= self.total_deadline_s:
            raise ValueError("attempt_timeout_s must be > 0 and <= total_deadline_s")
        if self.initial_backoff_s <= 0 or self.multiplier < 1 or self.max_attempts < 1:
            raise ValueError("backoff must be positive, multiplier >= 1, max_attempts >= 1")


class Schedule:
    """Deadlines and delays of one call's attempts."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ):
        self._policy = policy
        self._clock = clock
        self._rng = rng
        self._deadline = clock() + policy.total_deadline_s
        self._backoff = policy.initial_backoff_s
        self.attempts = 0

    def next_timeout(self) -> float:
        """The deadline of the attempt about to start: its own, cut to what the call has left."""
        self.attempts += 1
        left = self._deadline - self._clock()
        return max(0.001, min(self._policy.attempt_timeout_s, left))

    def delay_after(self, error: LivegateError) -> float | None:
        """Seconds to wait before the next attempt, or None when ERROR is the call's answer."""
        if not error.retryable or self.attempts >= self._policy.max_attempts:
            return None
        # Equal jitter: half the backoff fixed, half random, so replicas' callers spread out
        # without ever retrying at once.
        delay = self._backoff * (0.5 + 0.5 * self._rng())
        self._backoff = min(self._policy.max_backoff_s, self._backoff * self._policy.multiplier)
        if self._clock() + delay >= self._deadline:
            return None
        return delay


def call(
    send: Callable[[float], R],
    policy: RetryPolicy,
    decode: Decode,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[R, int]:
    """SEND until it answers or a final error; returns the answer and the attempts it took."""
    schedule = Schedule(policy)
    while True:
        try:
            return send(schedule.next_timeout()), schedule.attempts
        except grpc.RpcError as rpc_error:
            error = decode(rpc_error, schedule.attempts)
            error.__cause__ = rpc_error
        delay = schedule.delay_after(error)
        if delay is None:
            raise error
        sleep(delay)


async def call_async(
    send: Callable[[float], Awaitable[R]], policy: RetryPolicy, decode: Decode
) -> tuple[R, int]:
    """call() for grpc.aio: the same schedule, waiting with asyncio.sleep."""
    schedule = Schedule(policy)
    while True:
        try:
            return await send(schedule.next_timeout()), schedule.attempts
        except grpc.RpcError as rpc_error:
            error = decode(rpc_error, schedule.attempts)
            error.__cause__ = rpc_error
        delay = schedule.delay_after(error)
        if delay is None:
            raise error
        await asyncio.sleep(delay)
