"""Login mode: log in as IBC would, from its rendered config.ini and a file of IBKR users.

IB Gateway cannot run here, so the simulator stands in for it behind the gateway launcher. It
reads the config.ini the launcher rendered (IbLoginId, IbPassword, TradingMode, ReadOnlyLogin,
ReadOnlyApi, OverrideTwsApiPort, ...) and a users file that says what each login may do:

    w-trader:
      password: "..."
      live_accounts: [U1234567]
      paper_accounts: [DU1234567]
      trading_permissions: true          # false: an IBKR user that can only read
      second_factor_approval_file: PATH  # optional: a live login waits for 2FA until PATH exists

A wrong password refuses the login (nothing listens; exit 1). Otherwise the session is what the
login allows: paper -> the DU accounts, live -> the U accounts; read-only when the login, the
API setting or the user says so. What it prints mimics IBC's console lines, never a password.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gateway_sim import ibc_ini

EXIT_LOGIN_FAILED: Final = 1
# IBC's own default for how long a second-factor prompt may wait.
DEFAULT_SECOND_FACTOR_TIMEOUT_S: Final = 180.0
SECOND_FACTOR_POLL_S: Final = 0.05
_SANITISED: Final = frozenset({"ibloginid", "ibpassword", "fixloginid", "fixpassword"})


class LoginFailed(Exception):
    """The login does not go through; the message is what IBC would print (no secret)."""


@dataclass(frozen=True)
class IbcLogin:
    """What the simulator takes from IBC's config.ini."""

    login_id: str
    password: str = field(repr=False)
    trading_mode: str
    read_only_login: bool
    read_only_api: bool
    api_port: int
    second_factor_timeout_s: float


@dataclass(frozen=True)
class SimUser:
    password: str = field(repr=False)
    live_accounts: tuple[str, ...]
    paper_accounts: tuple[str, ...]
    trading_permissions: bool
    second_factor_approval_file: Path | None


@dataclass(frozen=True)
class Session:
    """What the login allows: the simulator starts with these."""

    accounts: tuple[str, ...]
    read_only: bool
    api_port: int


def _yes(props: Mapping[str, str], key: str) -> bool:
    return props.get(key, "").strip().lower() in ("yes", "true")


def read_ibc_config(path: Path) -> tuple[IbcLogin, dict[str, str]]:
    props = ibc_ini.parse(path.read_bytes())
    try:
        port = int(props.get("OverrideTwsApiPort", ""))
        timeout = float(props.get("SecondFactorAuthenticationTimeout") or 0) or (
            DEFAULT_SECOND_FACTOR_TIMEOUT_S
        )
    except ValueError:
        raise LoginFailed("config.ini needs OverrideTwsApiPort as an integer") from None
    login = IbcLogin(
        login_id=props.get("IbLoginId", ""),
        password=props.get("IbPassword", ""),
        trading_mode=props.get("TradingMode", "live").strip().lower() or "live",
        read_only_login=_yes(props, "ReadOnlyLogin"),
        read_only_api=_yes(props, "ReadOnlyApi"),
        api_port=port,
        second_factor_timeout_s=timeout,
    )
    return login, props


def _accounts(raw: Any, key: str, login_id: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise ValueError(f"users file: {login_id}.{key} must be a list of account ids")
    return tuple(raw)


def read_users(path: Path) -> dict[str, SimUser]:
    # Imported here, not at the top: the simulator otherwise runs on the standard library alone
    # (the deployment test's hosts run it with Debian's bare python3), and only login mode
    # reads a YAML users file.
    import yaml

    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError("users file must map login ids to users")
    users: dict[str, SimUser] = {}
    for login_id, spec in loaded.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("password"), str):
            raise ValueError(f"users file: {login_id} needs a password")
        approval = spec.get("second_factor_approval_file")
        users[str(login_id)] = SimUser(
            password=spec["password"],
            live_accounts=_accounts(spec.get("live_accounts"), "live_accounts", login_id),
            paper_accounts=_accounts(spec.get("paper_accounts"), "paper_accounts", login_id),
            trading_permissions=bool(spec.get("trading_permissions", True)),
            second_factor_approval_file=Path(approval) if approval else None,
        )
    return users


def settings_lines(props: Mapping[str, str]) -> list[str]:
    """IBC's settings dump at start, with the login and password shown as *** as IBC does."""
    lines = ["IBC Settings:"]
    for key in sorted(props):
        value = "***" if key.lower() in _SANITISED else props[key]
        lines.append(f"    {key}={value}")
    lines.append("End IBC Settings")
    return lines


def _wait_for_second_factor(
    user: SimUser, login: IbcLogin, say: Callable[[str], None], clock: Callable[[], float]
) -> None:
    approval = user.second_factor_approval_file
    # IBC's ReadOnlyLogin skips the security code; paper logins are not asked for one.
    if approval is None or login.read_only_login or login.trading_mode != "live":
        return
    say("IBC: Second Factor Authentication initiated")
    deadline = clock() + login.second_factor_timeout_s
    while not approval.exists():
        if clock() >= deadline:
            raise LoginFailed("IBC: Second Factor Authentication timed out")
        time.sleep(SECOND_FACTOR_POLL_S)
    say("IBC: Second Factor Authentication completed")


def authenticate(
    login: IbcLogin,
    users: Mapping[str, SimUser],
    say: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
) -> Session:
    """The session the login allows, or LoginFailed with IBC's words for why not."""
    user = users.get(login.login_id)
    if user is None or user.password != login.password:
        raise LoginFailed("IBC: Unrecognized Username or Password")
    if login.trading_mode not in ("live", "paper"):
        raise LoginFailed(f"IBC: Invalid TradingMode {login.trading_mode!r}")
    accounts = user.live_accounts if login.trading_mode == "live" else user.paper_accounts
    if not accounts:
        raise LoginFailed(f"IBC: Login failed: this login has no {login.trading_mode} account")
    _wait_for_second_factor(user, login, say, clock)
    read_only = login.read_only_login or login.read_only_api or not user.trading_permissions
    say(
        f"IBC: Login has completed (TradingMode={login.trading_mode}, "
        f"read-only={'yes' if read_only else 'no'}, accounts={len(accounts)})"
    )
    return Session(accounts=accounts, read_only=read_only, api_port=login.api_port)


def log_in(ibc_config: Path, users_file: Path, say: Callable[[str], None]) -> Session:
    """Read both files and log in; every failure is LoginFailed with a message for the log."""
    try:
        login, props = read_ibc_config(ibc_config)
        users = read_users(users_file)
    except OSError as exc:
        raise LoginFailed(f"IBC: cannot read {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:
        raise LoginFailed(f"IBC: {exc}") from None
    for line in settings_lines(props):
        say(line)
    return authenticate(login, users, say)
