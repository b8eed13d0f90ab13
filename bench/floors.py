"""What the gate cannot go below on this machine, measured in the same run as the gate.

A submit through the gate crosses two mTLS hops (client -> policy, policy -> writer), places
the order at the broker (what the direct figure times), and waits for two durable commits
(the pending record before the writer call, the outcome after it). These three floors, timed
here with no work attached, say how much of the gate's cost is the path itself and how much
is the services' own work, so a target can be checked against what is physically left.
"""

from __future__ import annotations

import os
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.measure import Latency, latency, timed_sequence

# A WAL commit appends a frame or a few (4 KiB pages) and fsyncs the file.
_FRAME = b"\0" * 4096


def hop(channel: grpc.Channel, count: int) -> Latency:
    """One unary call over CHANNEL's mTLS connection that does no work: the health check,
    answered by the service's own server (its interceptors included)."""
    stub = health_pb2_grpc.HealthStub(channel)

    def call(_i: object) -> object:
        return stub.Check(health_pb2.HealthCheckRequest(), timeout=5)

    timed_sequence(range(min(30, count)), call)  # warm the connection
    return latency(timed_sequence(range(count), call))


def durable_append(directory: Path, count: int) -> Latency:
    """A 4 KiB append and fsync in DIRECTORY (the database's file system): one commit's floor."""
    path = directory / "fsync-floor.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:

        def append(_i: object) -> None:
            os.write(fd, _FRAME)
            os.fsync(fd)

        timed_sequence(range(min(10, count)), append)
        return latency(timed_sequence(range(count), append))
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
