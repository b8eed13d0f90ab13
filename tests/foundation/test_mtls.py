"""The mTLS plumbing refuses every caller it cannot name and names the ones it can."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import grpc
import pytest

from livegate_common.errors import error_info
from livegate_common.identity import REASON_UNMAPPED
from livegate_common.metrics import REFUSALS
from livegate_common.pki import issue, load_authority, new_authority, spiffe_id
from livegate_common.tls import TLSFiles, secure_channel
from tests.foundation.conftest import WHOAMI, EchoServer


def _call(channel: grpc.Channel) -> bytes:
    return channel.unary_unary(WHOAMI)(b"", timeout=5)  # type: ignore[no-any-return]


def _identity_files(tmp_path: Path, ca_pem: bytes, key_pem: bytes, cert_pem: bytes) -> TLSFiles:
    files = TLSFiles(ca=tmp_path / "ca.pem", cert=tmp_path / "c.pem", key=tmp_path / "c.key")
    files.ca.write_bytes(ca_pem)
    files.cert.write_bytes(cert_pem)
    files.key.write_bytes(key_pem)
    return files


def test_call_when_certificate_is_mapped_then_principal_is_seen(echo_server: EchoServer) -> None:
    for identity in ("upstream", "operator"):
        files = TLSFiles(
            ca=echo_server.pki / "ca.pem",
            cert=echo_server.pki / f"{identity}.pem",
            key=echo_server.pki / f"{identity}.key",
        )
        with secure_channel(f"localhost:{echo_server.port}", files) as channel:
            assert _call(channel) == identity.encode()


def test_call_when_client_has_no_certificate_then_refused(echo_server: EchoServer) -> None:
    creds = grpc.ssl_channel_credentials(
        root_certificates=(echo_server.pki / "ca.pem").read_bytes()
    )
    with grpc.secure_channel(f"localhost:{echo_server.port}", creds) as channel:
        with pytest.raises(grpc.RpcError) as err:
            _call(channel)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_call_when_certificate_is_from_another_ca_then_refused(
    echo_server: EchoServer, tmp_path: Path
) -> None:
    stranger_ca = new_authority("not livegate")
    leaf = issue(stranger_ca, "upstream", uris=(spiffe_id("upstream"),))
    files = _identity_files(
        tmp_path, (echo_server.pki / "ca.pem").read_bytes(), leaf.key_pem, leaf.cert_pem
    )
    with secure_channel(f"localhost:{echo_server.port}", files) as channel:
        with pytest.raises(grpc.RpcError) as err:
            _call(channel)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_call_when_certificate_is_expired_then_refused(
    echo_server: EchoServer, dev_pki: Path, tmp_path: Path
) -> None:
    authority = load_authority(dev_pki)
    now = dt.datetime.now(dt.UTC)
    leaf = issue(
        authority,
        "upstream",
        uris=(spiffe_id("upstream"),),
        not_before=now - dt.timedelta(days=10),
        not_after=now - dt.timedelta(days=1),
    )
    files = _identity_files(
        tmp_path, (dev_pki / "ca.pem").read_bytes(), leaf.key_pem, leaf.cert_pem
    )
    with secure_channel(f"localhost:{echo_server.port}", files) as channel:
        with pytest.raises(grpc.RpcError) as err:
            _call(channel)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_call_when_san_is_not_configured_then_permission_denied_with_reason(
    echo_server: EchoServer, dev_pki: Path, tmp_path: Path
) -> None:
    before = REFUSALS.labels(method="WhoAmI", reason=REASON_UNMAPPED)._value.get()
    leaf = issue(load_authority(dev_pki), "stranger", uris=(spiffe_id("stranger"),))
    files = _identity_files(
        tmp_path, (dev_pki / "ca.pem").read_bytes(), leaf.key_pem, leaf.cert_pem
    )
    with secure_channel(f"localhost:{echo_server.port}", files) as channel:
        with pytest.raises(grpc.RpcError) as err:
            _call(channel)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info = error_info(err.value)
    assert info is not None and info.reason == REASON_UNMAPPED
    assert info.metadata["sans"] == spiffe_id("stranger")
    assert REFUSALS.labels(method="WhoAmI", reason=REASON_UNMAPPED)._value.get() == before + 1
