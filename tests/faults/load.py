"""Submitters that retry a key until it settles, recording what the policy finally said."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from livegate_api.v1 import policy_pb2
from tests.policy.harness import meta_of, reason_of

# Refusals that mean "not decided yet, retry the same key": the writer or the policy is away,
# the outcome is being settled, or the broker session is reconnecting.
RETRYABLE = frozenset(
    {
        "WRITER_UNAVAILABLE",
        "WRITER_OUTCOME_UNKNOWN",
        "IDEMPOTENCY_IN_PROGRESS",
        "BROKER_UNAVAILABLE",
        "BROKER_TIMEOUT",
        "",  # no ErrorInfo at all: the policy process itself is down
    }
)
# The first retry after this, doubling to the most: a client polling a pending key every
# 100 ms from four threads would be throttled by the policy's refusal limit.
FIRST_BACKOFF_S = 0.1
MOST_BACKOFF_S = 1.0


@dataclass(frozen=True)
class Task:
    preview_id: str
    approval_id: str
    key: str


@dataclass
class Results:
    """Per key: the executed reply, or the final refusal reason; retries counted."""

    executed: dict[str, list[policy_pb2.SubmitOrderResponse]] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)
    unsettled: list[str] = field(default_factory=list)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def settle(
    submit: Callable[[Task], policy_pb2.SubmitOrderResponse],
    task: Task,
    results: Results,
    deadline: float,
) -> None:
    """Submit TASK, retrying while the answer is not final, until DEADLINE (monotonic)."""
    backoff_s = FIRST_BACKOFF_S
    while time.monotonic() < deadline:
        try:
            reply = submit(task)
        except grpc.RpcError as err:
            reason = reason_of(err)
            if reason == "REFUSAL_RATE_EXCEEDED":
                # Throttled: the call did not run; the policy says when to come back.
                wait_s = float(meta_of(err).get("retry_after_s", "1"))
            elif reason in RETRYABLE and err.code() in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.ABORTED,  # IDEMPOTENCY_IN_PROGRESS: the same key, later
            ):
                wait_s, backoff_s = backoff_s, min(backoff_s * 2, MOST_BACKOFF_S)
            else:
                with results.lock:
                    results.refused.setdefault(task.key, []).append(reason or err.code().name)
                return
            with results.lock:
                results.retries += 1
            time.sleep(max(0.0, min(wait_s, deadline - time.monotonic())))
            continue
        with results.lock:
            results.executed.setdefault(task.key, []).append(reply)
        return
    with results.lock:
        results.unsettled.append(task.key)


def run_submitters(
    submit: Callable[[Task], policy_pb2.SubmitOrderResponse],
    queues: list[list[Task]],
    timeout_s: float,
) -> tuple[Results, list[threading.Thread]]:
    """One thread per queue, each settling its tasks in order; returns at once."""
    results = Results()
    deadline = time.monotonic() + timeout_s

    def work(queue: list[Task]) -> None:
        for task in queue:
            settle(submit, task, results, deadline)

    threads = [threading.Thread(target=work, args=(q,), daemon=True) for q in queues]
    for thread in threads:
        thread.start()
    return results, threads
