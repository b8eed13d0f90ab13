"""IBC's config.ini for this host's login, written once into a private file on tmpfs.

IBC reads config.ini with java.util.Properties.load (Latin-1, backslash escapes), so every value
is escaped the way Properties.store would: a password with a backslash, a leading space, a '#'
or a newline reaches IBC as typed, and can never add a setting of its own.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from gateway_launcher.config import IbcSettings
from gateway_launcher.ib_login import IbLogin

# Loopback only: the writer is the one API client, and it runs on this host.
TRUSTED_API_CLIENTS: Final = "127.0.0.1"
# Where nothing but memory holds the file: a reboot or a lost disk cannot leak the password.
RAM_FILESYSTEMS: Final = frozenset({"tmpfs", "ramfs"})
# Overridable in ibc.settings; the managed keys (config.MANAGED_KEYS) are not.
DEFAULT_SETTINGS: Final = {
    "ExistingSessionDetectedAction": "primary",
    "AcceptNonBrokerageAccountWarning": "yes",
    "ExitAfterSecondFactorAuthenticationTimeout": "yes",
    "AllowBlindTrading": "no",
}
_SPECIAL: Final = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}


class RenderError(RuntimeError):
    """The config.ini cannot be written where and how it must be; the message says why."""


def escape(value: str) -> str:
    """VALUE as Properties.store writes it: escapes for \\, controls, #!=:, non-Latin-1."""
    out: list[str] = []
    for i, ch in enumerate(value):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch == " " and i == 0:
            out.append("\\ ")  # Properties.load would strip a leading space
        elif ch in "#!=:":
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(ch))
    return "".join(out)


def _utf16_units(ch: str) -> list[int]:
    data = ch.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def settings(ibc: IbcSettings, login: IbLogin, second_factor_timeout_s: float) -> dict[str, str]:
    """Every IBC setting the file holds; the managed ones come last and win."""
    managed = {
        "FIX": "no",
        "IbLoginId": login.login_id,
        "IbPassword": login.password,
        "TradingMode": ibc.trading_mode,
        "ReadOnlyLogin": _yes_no(ibc.read_only_login),
        "ReadOnlyApi": _yes_no(ibc.read_only_api),
        # No dialog may let another client in: only the trusted list connects.
        "AcceptIncomingConnectionAction": "reject",
        "OverrideTwsApiPort": str(ibc.api_port),
        "TrustedTwsApiClientIPs": TRUSTED_API_CLIENTS,
        # IBC's command server could stop or reconfigure the gateway: off.
        "CommandServerPort": "0",
        "SecondFactorAuthenticationTimeout": str(int(second_factor_timeout_s)),
    }
    return {**DEFAULT_SETTINGS, **ibc.extra, **managed}


def render(values: dict[str, str], role: str) -> bytes:
    lines = [
        f"# IBC config.ini of instance role {role}, rendered by livegate-gateway-launcher.",
        "# It lives on tmpfs, readable by the gateway user only, and is removed once the",
        "# gateway's API port listens.",
        *(f"{key}={escape(value)}" for key, value in values.items()),
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def _filesystem_type(path: Path) -> str:
    """The type of the mount that holds PATH (longest mount point that prefixes it)."""
    best, kind = "", ""
    real = os.path.realpath(path)
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            parts = line.split()
            point = parts[1].replace("\\040", " ")
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, kind = point, parts[2]
    return kind


def check_directory(ibc: IbcSettings) -> None:
    """The file's directory: private to this user, and RAM-backed unless configured otherwise."""
    directory = ibc.config_file.parent
    try:
        info = directory.stat()
    except OSError as exc:
        raise RenderError(f"cannot use {directory}: {exc.strerror}") from None
    if info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise RenderError(
            f"{directory} must belong to this user with mode 0700 "
            f"(uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o})"
        )
    if ibc.require_tmpfs:
        kind = _filesystem_type(directory)
        if kind not in RAM_FILESYSTEMS:
            raise RenderError(f"{directory} is on {kind or 'an unknown filesystem'}, not tmpfs")


def write_private(path: Path, data: bytes) -> None:
    """Create PATH 0600 for this user only; never over an existing file or through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask was
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def remove(path: Path) -> bool:
    """Remove the rendered file; True when it was there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
