"""A throwaway certificate authority and the dev identities livegate's default config maps."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TRUST_DOMAIN: Final = "livegate.dev"
# operator2: the second operator a reopen of the kill switch needs (ConfirmReopen).
DEV_IDENTITIES: Final = ("policy", "writer", "upstream", "operator", "approver", "operator2")
# Services listen on loopback in dev; their certificates must verify as "localhost".
SERVER_IDENTITIES: Final = frozenset({"policy", "writer"})


def spiffe_id(name: str, trust_domain: str = TRUST_DOMAIN) -> str:
    """The URI SAN that names an identity; principals are mapped from it."""
    return f"spiffe://{trust_domain}/{name}"


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class IssuedCert:
    key_pem: bytes
    cert_pem: bytes


@dataclass(frozen=True)
class CertPaths:
    ca: Path
    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_authority(common_name: str = "livegate dev CA", valid_days: int = 30) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Authority(key=key, cert=cert)


def issue(
    authority: Authority,
    name: str,
    *,
    uris: tuple[str, ...] = (),
    server: bool = False,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> IssuedCert:
    """Issue a leaf certificate; server certificates also carry localhost SANs."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
    if server:
        sans += [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + (
        [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(minutes=5))
        .not_valid_after(not_after or now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(authority.key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return IssuedCert(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM))


def write_identity(directory: Path, name: str, ca_pem: bytes, issued: IssuedCert) -> CertPaths:
    """Write NAME.pem and NAME.key (mode 0600) beside ca.pem."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = directory / "ca.pem"
    if not ca.exists():
        ca.write_bytes(ca_pem)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    cert.write_bytes(issued.cert_pem)
    _write_private(key, issued.key_pem)
    return CertPaths(ca=ca, cert=cert, key=key)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def load_authority(directory: Path) -> Authority:
    """The dev CA kept in DIRECTORY (ca.pem, ca.key), to issue more certificates from it."""
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{directory / 'ca.key'} is not an EC private key")
    cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    return Authority(key=key, cert=cert)


def init_dev_pki(directory: Path, trust_domain: str = TRUST_DOMAIN) -> dict[str, CertPaths]:
    """Make a fresh CA and one certificate per dev identity in DIRECTORY (overwrites).

    The CA key stays beside its certificate (mode 0600) so a developer can issue more dev
    identities; a production CA never lives on a service host.
    """
    directory.mkdir(parents=True, exist_ok=True)
    authority = new_authority()
    (directory / "ca.pem").write_bytes(authority.cert_pem)
    _write_private(
        directory / "ca.key",
        authority.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    paths: dict[str, CertPaths] = {}
    for name in DEV_IDENTITIES:
        issued = issue(
            authority, name, uris=(spiffe_id(name, trust_domain),), server=name in SERVER_IDENTITIES
        )
        paths[name] = write_identity(directory, name, authority.cert_pem, issued)
    return paths
