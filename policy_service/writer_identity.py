"""Proves the writer at the configured address holds the expected identity (its URI SAN).

grpc's Python client verifies the writer's certificate against our CA and the TLS name, but
cannot show us the certificate; any server certificate of the same CA with that name (the
policy's own, say) would pass. So we open one TLS connection of our own, with our client
certificate, read the writer's certificate and compare its SAN with `writer.expected_san`.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass

from cryptography import x509

from livegate_common.tls import TLSFiles


@dataclass(frozen=True)
class IdentityCheck:
    ok: bool
    detail: str


def peer_uri_sans(address: str, tls: TLSFiles, server_name: str, timeout_s: float) -> list[str]:
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca))
    context.load_cert_chain(str(tls.cert), str(tls.key))
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as conn,
    ):
        der = conn.getpeercert(binary_form=True)
    if der is None:
        return []
    cert = x509.load_der_x509_certificate(der)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(u) for u in sans.get_values_for_type(x509.UniformResourceIdentifier)]


def check(
    address: str, tls: TLSFiles, server_name: str, expected_san: str, timeout_s: float
) -> IdentityCheck:
    if not expected_san:
        return IdentityCheck(True, "writer.expected_san not configured; CA and TLS name only")
    try:
        sans = peer_uri_sans(address, tls, server_name, timeout_s)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return IdentityCheck(False, f"writer identity unreadable ({type(exc).__name__})")
    if expected_san in sans:
        return IdentityCheck(True, f"writer presents {expected_san}")
    return IdentityCheck(False, f"writer presents {sans or 'no URI SAN'}, expected {expected_san}")


class IdentityCache:
    """Re-checks at most every `ttl_s`; a failed check is retried on the next use."""

    def __init__(
        self, address: str, tls: TLSFiles, server_name: str, expected_san: str,
        timeout_s: float, ttl_s: float = 60.0,
    ):  # fmt: skip
        self._args = (address, tls, server_name, expected_san, timeout_s)
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._last: IdentityCheck | None = None
        self._checked_at = 0.0

    def current(self) -> IdentityCheck:
        with self._lock:
            fresh = time.monotonic() - self._checked_at < self._ttl_s
            if self._last is not None and self._last.ok and fresh:
                return self._last
            self._last = check(*self._args)
            self._checked_at = time.monotonic()
            return self._last
