"""Vault for any identity: unwrap a single-use secret id, AppRole login, KV v2 reads, renewal.

The writer (its broker secret), the policy and the gateway launcher each log in with an AppRole
of their own and read only their own paths (see vault_layout). Errors say why, never a secret.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import hvac
import hvac.exceptions
import requests

from livegate_common import config as cfg

log = logging.getLogger("livegate.vault")

MIN_RENEW_INTERVAL_S: Final = 1.0
MAX_RENEW_INTERVAL_S: Final = 300.0


class VaultStartError(RuntimeError):
    """Vault could not deliver what was asked; the message says why (never a secret)."""


@dataclass(frozen=True)
class VaultConfig:
    addr: str
    role_id: str
    wrapped_secret_id_file: Path
    secret_path: str
    kv_mount: str = "secret"
    ca_cert: Path | None = None
    timeout_s: float = 5.0


def vault_config(doc: Mapping[str, Any], base: Path, prefix: str = "vault") -> VaultConfig:
    """The `vault.*` section of a service's config document."""
    ca = cfg.get(doc, f"{prefix}.ca_cert", str, "")
    timeout = cfg.get(doc, f"{prefix}.timeout_s", float, 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise cfg.ConfigError(f"{prefix}.timeout_s", f"must be a positive number, got {timeout!r}")
    return VaultConfig(
        addr=cfg.get(doc, f"{prefix}.addr", str),
        role_id=cfg.get(doc, f"{prefix}.role_id", str),
        wrapped_secret_id_file=cfg.get_path(doc, f"{prefix}.wrapped_secret_id_file", base),
        secret_path=cfg.get(doc, f"{prefix}.secret_path", str),
        kv_mount=cfg.get(doc, f"{prefix}.kv_mount", str, "secret"),
        ca_cert=cfg.get_path(doc, f"{prefix}.ca_cert", base) if ca else None,
        timeout_s=float(timeout),
    )


@dataclass
class VaultSession:
    """A logged-in Vault client and the secret it read; renewal runs until stop()."""

    client: hvac.Client
    data: Mapping[str, Any] = field(repr=False)
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
            except Exception as exc:  # keep renewing; what was read does not need Vault again
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


def _unreachable(config: VaultConfig, exc: Exception) -> VaultStartError:
    return VaultStartError(f"Vault at {config.addr} is unreachable ({type(exc).__name__})")


def _check_unsealed(config: VaultConfig) -> None:
    try:
        sealed = _client(config).sys.is_sealed()
    except requests.exceptions.RequestException as exc:
        raise _unreachable(config, exc) from None
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
        raise _unreachable(config, exc) from None
    secret_id = (response.get("data") or {}).get("secret_id")
    if not secret_id:
        raise VaultStartError("the unwrapped response holds no secret_id")
    return str(secret_id)


def _login(config: VaultConfig, secret_id: str) -> hvac.Client:
    client = _client(config)
    try:
        client.auth.approle.login(role_id=config.role_id, secret_id=secret_id)
    except hvac.exceptions.VaultError as exc:
        raise VaultStartError(f"Vault refused the AppRole login ({type(exc).__name__})") from None
    return client


def read_kv(client: hvac.Client, config: VaultConfig, path: str) -> Mapping[str, Any]:
    """One KV v2 secret's data; a 403, a missing path or an error raise VaultStartError."""
    where = f"{config.kv_mount}/{path}"
    try:
        response = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=config.kv_mount, raise_on_deleted_version=True
        )
    except hvac.exceptions.Forbidden:
        raise VaultStartError(f"Vault refused to read {where}: permission denied (403)") from None
    except hvac.exceptions.InvalidPath:
        raise VaultStartError(f"Vault holds no secret at {where}") from None
    except hvac.exceptions.VaultError as exc:
        raise VaultStartError(f"Vault could not read {where} ({type(exc).__name__})") from None
    except requests.exceptions.RequestException as exc:
        raise _unreachable(config, exc) from None
    return dict(response["data"]["data"])


def open_session(config: VaultConfig) -> VaultSession:
    """Unwrap the single-use secret id, log in, and read config.secret_path."""
    _check_unsealed(config)
    secret_id = _unwrap_secret_id(config, _read_wrapping_token(config))
    try:
        client = _login(config, secret_id)
    except requests.exceptions.RequestException as exc:
        raise _unreachable(config, exc) from None
    finally:
        del secret_id
    return VaultSession(client=client, data=read_kv(client, config, config.secret_path))
