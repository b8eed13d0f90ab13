"""mTLS channels to the policy service, with the keepalive and reconnect settings it permits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import grpc

# gRPC's keepalive guidance (doc/keepalive.md, gRFC A8): a client must not ping more often
# than the server permits, or the server answers GOAWAY ENHANCE_YOUR_CALM. livegate's servers
# permit one ping per 10 s, calls in flight or not (livegate_common/server.py,
# MIN_CLIENT_PING_INTERVAL_MS); pinging every 30 s stays well clear of that and notices a dead
# gate within 40 s even while the caller is idle between orders.
KEEPALIVE_TIME_MS: Final = 30_000
KEEPALIVE_TIMEOUT_MS: Final = 10_000
# A restarted gate is found within a few seconds, not after gRPC's default 120 s backoff cap.
MAX_RECONNECT_BACKOFF_MS: Final = 5_000

CHANNEL_OPTIONS: Final[tuple[tuple[str, int], ...]] = (
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    # Without this, core stops pinging after two pings with no data, so an idle channel
    # would stop noticing a dead peer.
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
)


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA that issued the gate's certificate, and this caller's own identity."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def from_dir(cls, directory: Path | str, identity: str) -> TlsFiles:
        """DIR/ca.pem, DIR/IDENTITY.pem and DIR/IDENTITY.key (the dev PKI's layout)."""
        root = Path(directory)
        return cls(root / "ca.pem", root / f"{identity}.pem", root / f"{identity}.key")

    def credentials(self) -> grpc.ChannelCredentials:
        missing = [str(p) for p in (self.ca, self.cert, self.key) if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"TLS file(s) not found: {', '.join(missing)}")
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes(),
            certificate_chain=self.cert.read_bytes(),
        )


def channel_options(server_name: str | None = None) -> list[tuple[str, int | str]]:
    """CHANNEL_OPTIONS, plus the name to verify the gate's certificate against, if given."""
    options: list[tuple[str, int | str]] = list(CHANNEL_OPTIONS)
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    return options


def secure_channel(target: str, tls: TlsFiles, server_name: str | None = None) -> grpc.Channel:
    return grpc.secure_channel(target, tls.credentials(), options=channel_options(server_name))


def secure_aio_channel(
    target: str, tls: TlsFiles, server_name: str | None = None
) -> grpc.aio.Channel:
    return grpc.aio.secure_channel(target, tls.credentials(), options=channel_options(server_name))
