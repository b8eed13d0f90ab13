"""Callers the two real services must refuse: no certificate, wrong CA, expired, unmapped SAN."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc, writer_pb2, writer_pb2_grpc
from livegate_common.identity import REASON_UNMAPPED
from livegate_common.pki import issue, load_authority, new_authority, spiffe_id
from livegate_common.tls import TLSFiles, secure_channel
from tests.fuzz.checks import assert_clear_refusal, assert_serving, reason_of
from tests.fuzz.policy_target import PolicyTarget
from tests.fuzz.strategies import ACCOUNT
from tests.fuzz.writer_target import WriterTarget
from tests.support.grpc_clients import channel_as

MakeChannel = Callable[[Path, Path, int], grpc.Channel]


def _files(directory: Path, ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> TLSFiles:
    directory.mkdir(parents=True, exist_ok=True)
    files = TLSFiles(directory / "ca.pem", directory / "c.pem", directory / "c.key")
    files.ca.write_bytes(ca_pem)
    files.cert.write_bytes(cert_pem)
    files.key.write_bytes(key_pem)
    return files


def no_certificate(pki: Path, _tmp: Path, port: int) -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(root_certificates=(pki / "ca.pem").read_bytes())
    return grpc.secure_channel(f"localhost:{port}", creds)


def wrong_ca(pki: Path, tmp: Path, port: int) -> grpc.Channel:
    # The right name in the SAN, signed by a CA the services do not trust.
    leaf = issue(new_authority("not livegate"), "policy", uris=(spiffe_id("policy"),))
    ca = (pki / "ca.pem").read_bytes()
    return secure_channel(f"localhost:{port}", _files(tmp, ca, leaf.cert_pem, leaf.key_pem))


def expired(pki: Path, tmp: Path, port: int) -> grpc.Channel:
    now = dt.datetime.now(dt.UTC)
    leaf = issue(
        load_authority(pki),
        "policy",
        uris=(spiffe_id("policy"),),
        not_before=now - dt.timedelta(days=10),
        not_after=now - dt.timedelta(days=1),
    )
    ca = (pki / "ca.pem").read_bytes()
    return secure_channel(f"localhost:{port}", _files(tmp, ca, leaf.cert_pem, leaf.key_pem))


def unmapped(pki: Path, tmp: Path, port: int) -> grpc.Channel:
    leaf = issue(load_authority(pki), "stranger", uris=(spiffe_id("stranger"),))
    ca = (pki / "ca.pem").read_bytes()
    return secure_channel(f"localhost:{port}", _files(tmp, ca, leaf.cert_pem, leaf.key_pem))


# The TLS handshake fails for the first three: the call never reaches any livegate code.
CASES: list[tuple[MakeChannel, grpc.StatusCode]] = [
    (no_certificate, grpc.StatusCode.UNAVAILABLE),
    (wrong_ca, grpc.StatusCode.UNAVAILABLE),
    (expired, grpc.StatusCode.UNAVAILABLE),
    (unmapped, grpc.StatusCode.PERMISSION_DENIED),
]
IDS = ["no_certificate", "wrong_ca", "expired", "unmapped_san"]


def _refused(call: Callable[[], Any], code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    err = caught.value
    assert err.code() == code, (err.code(), err.details())
    if code == grpc.StatusCode.PERMISSION_DENIED:
        assert_clear_refusal(err)
        assert reason_of(err) == REASON_UNMAPPED


@pytest.mark.parametrize(("make", "code"), CASES, ids=IDS)
def test_policy_call_when_certificate_is_bad_then_refused_and_nothing_written(
    policy: PolicyTarget,
    dev_pki: Path,
    tmp_path: Path,
    make: MakeChannel,
    code: grpc.StatusCode,
) -> None:
    policy.set_switch(True)
    before, audit_before = policy.state(), policy.audit_count()
    with make(dev_pki, tmp_path, policy.harness.service.port) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        request = policy_pb2.SubmitOrderRequest(
            account_id=ACCOUNT,
            preview_id=policy.previews[0],
            approval_id=policy.approvals[0],
            idempotency_key="fz-cert-0001",
        )
        _refused(lambda: stub.SubmitOrder(request, timeout=5), code)
        _refused(lambda: stub.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=5), code)
    assert policy.state() == before
    if code == grpc.StatusCode.PERMISSION_DENIED:
        # A valid certificate nobody maps reached the service: both calls are audited, step 1.
        assert policy.audit_count() == audit_before + 2
        last = policy.harness.last_audit()
        assert (last["reason"], last["gate_step"], last["principal"]) == (REASON_UNMAPPED, 1, "")
        assert spiffe_id("stranger") in last["detail"]
    else:
        # The TLS handshake failed: no call reached livegate code, so there is nothing to audit.
        assert policy.audit_count() == audit_before
    assert_serving(policy.harness.channels[0])


@pytest.mark.parametrize(("make", "code"), CASES, ids=IDS)
def test_writer_call_when_certificate_is_bad_then_refused_and_nothing_reaches_broker(
    writer: WriterTarget,
    dev_pki: Path,
    tmp_path: Path,
    make: MakeChannel,
    code: grpc.StatusCode,
) -> None:
    writer.set_switch(True)
    before = writer.writes_at_broker()
    with make(dev_pki, tmp_path, writer.handle.port) as channel:
        stub = writer_pb2_grpc.WriterServiceStub(channel)
        _refused(lambda: stub.SubmitOrder(_valid_submit("fz-cert-0001"), timeout=5), code)
        _refused(lambda: stub.CancelAllOrders(writer_pb2.CancelAllOrdersRequest(), timeout=5), code)
    assert writer.writes_at_broker() == before
    assert_serving(writer.channel)


@pytest.mark.parametrize("identity", ["upstream", "operator"])
def test_writer_call_when_caller_is_not_the_policy_then_refused_and_nothing_reaches_broker(
    writer: WriterTarget, dev_pki: Path, identity: str
) -> None:
    # upstream is unmapped on the writer; operator is mapped there without writer.call.
    writer.set_switch(True)
    before = writer.writes_at_broker()
    with channel_as(dev_pki, identity, writer.handle.port) as channel:
        stub = writer_pb2_grpc.WriterServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.SubmitOrder(_valid_submit(f"fz-{identity}-0001"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert assert_clear_refusal(caught.value) in {REASON_UNMAPPED, "SCOPE_MISSING"}
    assert writer.writes_at_broker() == before


def test_writer_submit_when_caller_is_the_policy_then_reaches_broker(
    writer: WriterTarget,
) -> None:
    # The control: the same request from the right identity does reach the broker.
    writer.set_switch(True)
    before = writer.writes_at_broker()
    placed = writer.policy.SubmitOrder(_valid_submit("fz-cert-control"), timeout=10)
    assert placed.order.broker_order_id > 0
    assert writer.writes_at_broker() > before


def _valid_submit(key: str) -> writer_pb2.WriterSubmitOrderRequest:
    return writer_pb2.WriterSubmitOrderRequest(
        request_id="cert",
        account_id=ACCOUNT,
        order=common_pb2.Order(
            instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
            action=common_pb2.ACTION_BUY,
            quantity="1",
            order_type=common_pb2.ORDER_TYPE_LIMIT,
            limit_price="100.00",
            time_in_force=common_pb2.TIME_IN_FORCE_DAY,
        ),
        idempotency_key=key,
    )
