"""Broker credentials from Vault: unwrap the secret id once, AppRole login, KV v2 read, renewal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import hvac
import hvac.exceptions
import requests

from livegate_common.account_hash import MIN_KEY_BYTES, account_hash
from writer_service.config import VaultConfig

log = logging.getLogger("livegate.writer.vault")

MIN_RENEW_INTERVAL_S: Final = 1.0
MAX_RENEW_INTERVAL_S: Final = 300.0


class VaultStartError(RuntimeError):
    """Vault could not deliver the broker credentials; the message says why (never a secret)."""


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
class VaultSession:
    """A logged-in Vault client and what it read; renewal runs until stop()."""

    client: hvac.Client
    secret: BrokerSecret
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start_renewal(self) -> None:
        self._thread = threading.Thread(target=self._renew_loop, name="vault-renew", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _renew_loop(self) -> None:
        while not self._stop.is_set():
            try:
                ttl = float(self.client.auth.token.lookup_self()["data"].get("ttl") or 0)
            except Exception as exc:  # keep renewing; the broker session does not need Vault
                log.warning("vault token lookup failed", extra={"error": type(exc).__name__})
                ttl = 2 * MAX_RENEW_INTERVAL_S
            # Renew at half-life so one missed round still leaves time for the next.
            wait = min(max(ttl / 2, MIN_RENEW_INTERVAL_S), MAX_RENEW_INTERVAL_S)
            if self._stop.wait(wait):
                return
            try:
                self.client.auth.token.renew_self()
                log.info("vault token renewed")
            except Exception as exc:
                log.warning("vault token renewal failed", extra={"error": type(exc).__name__})


def _client(config: VaultConfig, token: str | None = None) -> hvac.Client:
    verify: bool | str = str(config.ca_cert) if config.ca_cert else True
    return hvac.Client(url=config.addr, token=token, verify=verify, timeout=config.timeout_s)


def _check_unsealed(config: VaultConfig) -> None:
    try:
        sealed = _client(config).sys.is_sealed()
    except requests.exceptions.RequestException as exc:
        raise VaultStartError(
            f"Vault at {config.addr} is unreachable ({type(exc).__name__})"
        ) from None
    except hvac.exceptions.VaultError as exc:
        raise VaultStartError(f"Vault at {config.addr} answered an error ({exc.errors})") from None
    if sealed:
        raise VaultStartError(f"Vault at {config.addr} is sealed")


def _read_wrapping_token(config: VaultConfig) -> str:
    path = config.wrapped_secret_id_file
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise VaultStartError(
            f"cannot read vault.wrapped_secret_id_file {path}: {exc.strerror}"
        ) from None
    if not token:
        raise VaultStartError(f"vault.wrapped_secret_id_file {path} is empty")
    return token


def _unwrap_secret_id(config: VaultConfig, wrapping_token: str) -> str:
    try:
        response = _client(config, token=wrapping_token).sys.unwrap()
    except hvac.exceptions.VaultError as exc:
        # A wrapping token that was already used may mean someone else unwrapped it first.
        raise VaultStartError(
            "Vault refused to unwrap the secret id: the wrapping token is expired, invalid or "
            f"was already used ({type(exc).__name__})"
        ) from None
    except requests.exceptions.RequestException as exc:
        raise VaultStartError(
            f"Vault at {config.addr} is unreachable ({type(exc).__name__})"
        ) from None
    secret_id = (response.get("data") or {}).get("secret_id")
    if not secret_id:
        raise VaultStartError("the unwrapped response holds no secret_id")
    return str(secret_id)


def _login_and_read(config: VaultConfig, secret_id: str) -> tuple[hvac.Client, BrokerSecret]:
    client = _client(config)
    where = f"{config.kv_mount}/{config.secret_path}"
    try:
        client.auth.approle.login(role_id=config.role_id, secret_id=secret_id)
    except hvac.exceptions.VaultError as exc:
        raise VaultStartError(f"Vault refused the AppRole login ({type(exc).__name__})") from None
    try:
        response = client.secrets.kv.v2.read_secret_version(
            path=config.secret_path, mount_point=config.kv_mount, raise_on_deleted_version=True
        )
    except hvac.exceptions.Forbidden:
        raise VaultStartError(f"Vault refused to read {where}: permission denied (403)") from None
    except hvac.exceptions.InvalidPath:
        raise VaultStartError(f"Vault holds no broker secret at {where}") from None
    except hvac.exceptions.VaultError as exc:
        raise VaultStartError(f"Vault could not read {where} ({type(exc).__name__})") from None
    return client, BrokerSecret.from_mapping(response["data"]["data"], where)


def load_credentials(config: VaultConfig) -> VaultSession:
    """Log in and read the broker secret; raises VaultStartError with a reason, never a secret."""
    _check_unsealed(config)
    secret_id = _unwrap_secret_id(config, _read_wrapping_token(config))
    try:
        client, secret = _login_and_read(config, secret_id)
    except requests.exceptions.RequestException as exc:
        raise VaultStartError(
            f"Vault at {config.addr} is unreachable ({type(exc).__name__})"
        ) from None
    finally:
        del secret_id
    log.info(
        "broker credentials loaded from vault",
        extra={
            "secret_path": f"{config.kv_mount}/{config.secret_path}",
            "account_id_hashes": [secret.account_hash(a) for a in secret.accounts],
        },
    )
    return VaultSession(client=client, secret=secret)
