"""mTLS channels to livegate servers, as a given dev identity."""

from __future__ import annotations

from pathlib import Path

import grpc

from livegate_common.tls import TLSFiles, secure_channel


def channel_as(pki_dir: Path, identity: str, port: int) -> grpc.Channel:
    files = TLSFiles(
        ca=pki_dir / "ca.pem", cert=pki_dir / f"{identity}.pem", key=pki_dir / f"{identity}.key"
    )
    return secure_channel(f"localhost:{port}", files)
