"""The gateway launcher's configuration: one frozen object, read and checked against the role."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from livegate_common import config as cfg
from livegate_common.roles import Role
from livegate_common.vault_client import VaultConfig, vault_config

ENV_PREFIX: Final = "LIVEGATE_GATEWAY"
DEFAULT_CONFIG_FILE: Final = "/run/livegate-gateway/config.ini"
TRADING_MODES: Final = ("live", "paper")
# The IBC keys the launcher sets itself: the login, the session's permissions and who may reach
# the API. ibc.settings may add other IBC keys, never one of these.
MANAGED_KEYS: Final = frozenset(
    {
        "FIX",
        "FIXLoginId",
        "FIXPassword",
        "IbLoginId",
        "IbPassword",
        "TradingMode",
        "ReadOnlyLogin",
        "ReadOnlyApi",
        "AcceptIncomingConnectionAction",
        "OverrideTwsApiPort",
        "TrustedTwsApiClientIPs",
        "CommandServerPort",
        "ControlFrom",
        "BindAddress",
        "SecondFactorAuthenticationTimeout",
    }
)
_IBC_KEY: Final = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")


@dataclass(frozen=True)
class IbcSettings:
    config_file: Path
    trading_mode: str
    read_only_login: bool
    read_only_api: bool
    api_port: int
    # Refuse to render the login anywhere but a RAM-backed filesystem (tmpfs).
    require_tmpfs: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayCommand:
    # IBC's start script (or, in tests, the simulator); {ibc_ini} and {api_port} are filled in.
    argv: tuple[str, ...]
    # The child's whole environment: nothing of the launcher's own is passed on.
    env: Mapping[str, str]
    ready_timeout_s: float = 120.0
    second_factor_timeout_s: float = 180.0
    stop_timeout_s: float = 20.0


@dataclass(frozen=True)
class LauncherConfig:
    role: Role
    vault: VaultConfig
    ibc: IbcSettings
    gateway: GatewayCommand
    log_level: str = "INFO"


def _extra(doc: Mapping[str, Any]) -> dict[str, str]:
    raw = cfg.get(doc, "ibc.settings", dict, {})
    out: dict[str, str] = {}
    for key, value in raw.items():
        name = f"ibc.settings.{key}"
        if not isinstance(key, str) or not _IBC_KEY.match(key):
            raise cfg.ConfigError(name, "is not an IBC setting name")
        if key in MANAGED_KEYS:
            raise cfg.ConfigError(name, "is set by the launcher from the role and its login")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise cfg.ConfigError(name, f"must be a string or a number, got {value!r}")
        out[key] = str(value)
    return out


def _ibc(doc: Mapping[str, Any], base: Path) -> IbcSettings:
    mode = cfg.get(doc, "ibc.trading_mode", str)
    if mode not in TRADING_MODES:
        raise cfg.ConfigError("ibc.trading_mode", f"must be live or paper, got {mode!r}")
    port = cfg.get(doc, "ibc.api_port", int)
    if not 1024 <= port <= 65535:
        raise cfg.ConfigError("ibc.api_port", f"must be within 1024..65535, got {port}")
    return IbcSettings(
        config_file=cfg.get_path(doc, "ibc.config_file", base, DEFAULT_CONFIG_FILE),
        trading_mode=mode,
        read_only_login=cfg.get(doc, "ibc.read_only_login", bool),
        read_only_api=cfg.get(doc, "ibc.read_only_api", bool),
        api_port=port,
        require_tmpfs=cfg.get(doc, "ibc.require_tmpfs", bool, True),
        extra=_extra(doc),
    )


def _gateway(doc: Mapping[str, Any]) -> GatewayCommand:
    argv = cfg.get(doc, "gateway.argv", list)
    if not argv or not all(isinstance(a, str) and a for a in argv):
        raise cfg.ConfigError("gateway.argv", "must be a non-empty list of strings")
    if not any("{ibc_ini}" in a for a in argv):
        raise cfg.ConfigError("gateway.argv", "must pass the rendered config.ini as {ibc_ini}")
    env = cfg.get(doc, "gateway.env", dict, {"PATH": "/usr/local/bin:/usr/bin:/bin"})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise cfg.ConfigError("gateway.env", "must map names to strings")
    return GatewayCommand(
        argv=tuple(argv),
        env=dict(env),
        ready_timeout_s=cfg.positive(doc, "gateway.ready_timeout_s", 120.0),
        second_factor_timeout_s=cfg.positive(doc, "gateway.second_factor_timeout_s", 180.0),
        stop_timeout_s=cfg.positive(doc, "gateway.stop_timeout_s", 20.0),
    )


def role_violation(role: Role, ibc: IbcSettings) -> tuple[str, str] | None:
    """The key and reason a session of this kind does not fit ROLE, or None.

    W trades live; R reads through a read-only login on a read-only API; ABH experiments on
    paper (optionally read-only). Nothing but W ever logs in live (seed ADR 38).
    """
    if role is Role.W:
        if ibc.trading_mode != "live":
            return "ibc.trading_mode", "role W trades live: it must be live"
        if ibc.read_only_login or ibc.read_only_api:
            return "ibc.read_only_api", "role W must be able to trade: no read-only login or API"
        return None
    if ibc.trading_mode == "live":
        return "ibc.trading_mode", f"role {role.value} may never log in live: it must be paper"
    if role is Role.R and not (ibc.read_only_login and ibc.read_only_api):
        return "ibc.read_only_login", "role R needs read_only_login and read_only_api both true"
    return None


def from_document(doc: Mapping[str, Any], base: Path) -> LauncherConfig:
    config = LauncherConfig(
        role=cfg.instance_role(doc),
        vault=vault_config(doc, base),
        ibc=_ibc(doc, base),
        gateway=_gateway(doc),
        log_level=cfg.get(doc, "logging.level", str, "INFO"),
    )
    wrong = role_violation(config.role, config.ibc)
    if wrong is not None:
        raise cfg.ConfigError(*wrong)
    return config


def load(path: Path | None, environ: Mapping[str, str] | None = None) -> LauncherConfig:
    doc = cfg.load_document(path, ENV_PREFIX, environ)
    return from_document(doc, path.parent if path else Path.cwd())
