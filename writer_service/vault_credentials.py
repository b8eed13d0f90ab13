"""Broker credentials from Vault: the writer's own secret, read through livegate_common's client."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import hvac

from livegate_common.account_hash import MIN_KEY_BYTES, account_hash
from livegate_common.vault_client import VaultConfig, VaultSession, VaultStartError, open_session

log = logging.getLogger("livegate.writer.vault")
__all__ = ["BrokerSecret", "VaultStartError", "WriterVault", "load_credentials"]


@dataclass(frozen=True)
class BrokerSecret:
    # Connection values stay out of reprs, so an accidental log line cannot carry them.
    gateway_host: str = field(repr=False)
    gateway_port: int = field(repr=False)
    client_id: int = field(repr=False)
    accounts: tuple[str, ...] = ()
    # The key of the account hash that stands in for account ids in every log line; the same
    # value as the policy's audit.account_hash_key, so lines join across the two services.
    account_hash_key: bytes = field(default=b"", repr=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> BrokerSecret:
        try:
            accounts = tuple(a.strip() for a in str(data["accounts"]).split(",") if a.strip())
            secret = cls(
                gateway_host=str(data["gateway_host"]),
                gateway_port=int(data["gateway_port"]),
                client_id=int(data["client_id"]),
                accounts=accounts,
                account_hash_key=str(data["account_hash_key"]).strip().encode(),
            )
        except (KeyError, ValueError, TypeError) as exc:
            # Name the key, never the value: the value may be a credential.
            raise VaultStartError(
                f"broker secret at {where} is malformed: {type(exc).__name__} "
                f"{exc.args[0] if isinstance(exc, KeyError) else ''}"
            ) from None
        if not secret.accounts:
            raise VaultStartError(f"broker secret at {where} lists no accounts")
        if len(secret.account_hash_key) < MIN_KEY_BYTES:
            raise VaultStartError(
                f"broker secret at {where}: account_hash_key must be at least {MIN_KEY_BYTES} bytes"
            )
        return secret

    def account_hash(self, account_id: str) -> str:
        return account_hash(self.account_hash_key, account_id)


@dataclass
class WriterVault:
    """The writer's Vault session and the broker secret it read; renewal runs until stop()."""

    session: VaultSession
    secret: BrokerSecret

    @property
    def client(self) -> hvac.Client:
        return self.session.client

    def start_renewal(self) -> None:
        self.session.start_renewal()

    def stop(self) -> None:
        self.session.stop()


def load_credentials(config: VaultConfig) -> WriterVault:
    """Log in and read the broker secret; raises VaultStartError with a reason, never a secret."""
    session = open_session(config)
    secret = BrokerSecret.from_mapping(session.data, f"{config.kv_mount}/{config.secret_path}")
    log.info(
        "broker credentials loaded from vault",
        extra={
            "secret_path": f"{config.kv_mount}/{config.secret_path}",
            "account_id_hashes": [secret.account_hash(a) for a in secret.accounts],
        },
    )
    return WriterVault(session, secret)
