"""Builds the policy service's gRPC server from its config."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health

from livegate_api.v1 import policy_pb2_grpc
from livegate_common.devconfig import POLICY_SERVICE_NAME
from livegate_common.server import create_server
from policy_service.config import PolicyConfig


def build_server(config: PolicyConfig) -> tuple[grpc.Server, int, health.HealthServicer]:
    servicer = policy_pb2_grpc.PolicyServiceServicer()  # every method UNIMPLEMENTED until filled
    return create_server(
        config.server,
        config.principals,
        [lambda s: policy_pb2_grpc.add_PolicyServiceServicer_to_server(servicer, s)],
        [POLICY_SERVICE_NAME],
    )
