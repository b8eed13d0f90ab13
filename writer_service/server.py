"""Builds the writer service's gRPC server from its config."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health

from livegate_api.v1 import writer_pb2_grpc
from livegate_common.devconfig import WRITER_SERVICE_NAME
from livegate_common.server import create_server
from writer_service.config import WriterConfig


def build_server(config: WriterConfig) -> tuple[grpc.Server, int, health.HealthServicer]:
    servicer = writer_pb2_grpc.WriterServiceServicer()  # every method UNIMPLEMENTED until filled
    return create_server(
        config.server,
        config.principals,
        [lambda s: writer_pb2_grpc.add_WriterServiceServicer_to_server(servicer, s)],
        [WRITER_SERVICE_NAME],
    )
