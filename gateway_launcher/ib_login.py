"""The IB login from Vault: the launcher's own AppRole reads the role's ib_login path, once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from livegate_common.vault_client import VaultConfig, VaultStartError, open_session
from livegate_common.vault_layout import IB_LOGIN_KEYS, TRADING_MODES

log = logging.getLogger("livegate.gateway.vault")


class LoginMismatch(RuntimeError):
    """The login Vault holds does not fit this host's gateway; the message names no secret."""


@dataclass(frozen=True)
class IbLogin:
    # Kept out of reprs, so an accidental log line cannot carry them.
    login_id: str = field(repr=False)
    password: str = field(repr=False)
    trading_mode: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> IbLogin:
        missing = [k for k in IB_LOGIN_KEYS if not isinstance(data.get(k), str) or not data[k]]
        if missing:
            # Name the keys, never a value: the value may be the password.
            raise LoginMismatch(f"the IB login at {where} misses {', '.join(missing)}")
        mode = str(data["trading_mode"])
        if mode not in TRADING_MODES:
            raise LoginMismatch(f"the IB login at {where} has trading_mode {mode!r}")
        return cls(str(data["login_id"]), str(data["password"]), mode)


def read_login(config: VaultConfig, trading_mode: str) -> IbLogin:
    """Unwrap, log in, read the login, revoke the token: nothing of Vault's outlives the read.

    Raises VaultStartError (Vault refused or failed) or LoginMismatch (the login is of another
    trading mode than this host's gateway runs, e.g. a live login on a paper host).
    """
    session = open_session(config)
    where = f"{config.kv_mount}/{config.secret_path}"
    try:
        login = IbLogin.from_mapping(session.data, where)
    finally:
        _revoke(session.client)
    if login.trading_mode != trading_mode:
        raise LoginMismatch(
            f"the IB login at {where} is a {login.trading_mode} login; this host's gateway "
            f"logs in {trading_mode}"
        )
    log.info(
        "IB login read from vault",
        extra={"secret_path": where, "trading_mode": login.trading_mode},
    )
    return login


def _revoke(client: Any) -> None:
    # The launcher reads once; a token left alive would only be something to steal.
    try:
        client.auth.token.revoke_self()
    except Exception as exc:  # the read is done either way; the token dies with its TTL
        log.warning("vault token revocation failed", extra={"error": type(exc).__name__})


__all__ = ["IbLogin", "LoginMismatch", "VaultStartError", "read_login"]
