"""Builds the writer service's gRPC server around a ready servicer."""

from __future__ import annotations

from typing import Final

import grpc
from grpc_health.v1 import health

from livegate_api.v1 import writer_pb2_grpc
from livegate_common.devconfig import WRITER_SERVICE_NAME
from livegate_common.server import create_server
from writer_service.config import WriterConfig
from writer_service.servicer import WriterServicer, WriterState

# The policy's close (and its heartbeat) must not queue behind writes waiting on the broker.
OPERATOR_METHODS: Final = ("SetKillSwitch", "GetKillSwitch", "CancelAllOrders", "GetPermission")


def build_server(
    config: WriterConfig, state: WriterState
) -> tuple[grpc.Server, int, health.HealthServicer]:
    servicer = WriterServicer(state)
    return create_server(
        config.server,
        config.principals,
        [lambda s: writer_pb2_grpc.add_WriterServiceServicer_to_server(servicer, s)],
        [WRITER_SERVICE_NAME],
        operator_methods=OPERATOR_METHODS,
    )
