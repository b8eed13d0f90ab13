"""IBC's config.ini as the launcher renders and writes it: escaped, private, on tmpfs only."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from gateway_launcher import ibc_render, ports
from gateway_launcher.config import IbcSettings
from gateway_launcher.ib_login import IbLogin, LoginMismatch
from gateway_sim import ibc_ini
from tests.support.gateways import private_tmpfs_dir

NASTY = [
    "plain-pass-1",
    "back\\slash",
    " leading space",
    "#starts-like-a-comment",
    "!bang",
    "a=b:c",
    "new\nReadOnlyApi=no",  # a newline must not add a setting of its own
    "tab\there\rcr\fff",
    "trailing\\",
    "caf\xe9-\u20ac-\U0001f600",
]


def _ibc(tmp: Path, **overrides: object) -> IbcSettings:
    values: dict[str, object] = {
        "config_file": tmp / "config.ini",
        "trading_mode": "paper",
        "read_only_login": True,
        "read_only_api": True,
        "api_port": 4002,
        "extra": {"ExistingSessionDetectedAction": "secondary"},
    }
    values.update(overrides)
    return IbcSettings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("password", NASTY)
def test_render_when_password_has_special_characters_then_ibc_reads_it_back_exactly(
    tmp_path: Path, password: str
) -> None:
    login = IbLogin("reader-1", password, "paper")
    values = ibc_render.settings(_ibc(tmp_path), login, 180)
    parsed = ibc_ini.parse(ibc_render.render(values, "R"))
    assert parsed["IbPassword"] == password
    assert parsed["ReadOnlyApi"] == "yes" and parsed["ReadOnlyLogin"] == "yes"
    assert parsed == values


def test_render_when_rendered_then_managed_settings_lock_the_api_to_loopback(
    tmp_path: Path,
) -> None:
    values = ibc_render.settings(_ibc(tmp_path), IbLogin("u", "p", "paper"), 120)
    assert values["AcceptIncomingConnectionAction"] == "reject"
    assert values["TrustedTwsApiClientIPs"] == "127.0.0.1"
    assert values["CommandServerPort"] == "0"
    assert values["OverrideTwsApiPort"] == "4002"
    assert values["TradingMode"] == "paper"
    assert values["SecondFactorAuthenticationTimeout"] == "120"
    assert values["ExistingSessionDetectedAction"] == "secondary"  # ibc.settings wins defaults


def test_write_private_when_written_then_0600_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "config.ini"
    old = os.umask(0)
    try:
        ibc_render.write_private(path, b"IbPassword=x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"IbPassword=x\n"


def test_write_private_when_file_exists_then_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.ini"
    path.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        ibc_render.write_private(path, b"IbPassword=x\n")
    assert path.read_bytes() == b"someone else's"


def test_write_private_when_path_is_a_symlink_then_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    (tmp_path / "config.ini").symlink_to(target)
    with pytest.raises(FileExistsError):
        ibc_render.write_private(tmp_path / "config.ini", b"IbPassword=x\n")
    assert not target.exists()


def test_check_directory_when_private_tmpfs_then_accepted() -> None:
    with private_tmpfs_dir() as directory:
        ibc_render.check_directory(_ibc(directory))


def test_check_directory_when_on_disk_and_tmpfs_required_then_refused(tmp_path: Path) -> None:
    private = tmp_path / "run"
    private.mkdir(mode=0o700)
    with pytest.raises(ibc_render.RenderError, match="not tmpfs"):
        ibc_render.check_directory(_ibc(private))
    ibc_render.check_directory(_ibc(private, require_tmpfs=False))


def test_check_directory_when_group_can_read_then_refused() -> None:
    with private_tmpfs_dir() as directory:
        directory.chmod(0o750)
        with pytest.raises(ibc_render.RenderError, match="mode 0700"):
            ibc_render.check_directory(_ibc(directory))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"login_id": "x", "password": "", "trading_mode": "paper"}, "misses password"),
        ({"login_id": "x", "password": "p", "trading_mode": "demo"}, "trading_mode 'demo'"),
        ({"password": "p", "trading_mode": "paper"}, "misses login_id"),
    ],
)
def test_ib_login_when_secret_malformed_then_refused_naming_keys_not_values(
    data: dict[str, str], words: str
) -> None:
    with pytest.raises(LoginMismatch, match=words) as refused:
        IbLogin.from_mapping(data, "secret/livegate/R/ib_login")
    assert "'p'" not in str(refused.value)


def test_ib_login_when_repr_then_login_and_password_hidden() -> None:
    text = repr(IbLogin("my-login", "my-password", "live"))
    assert "my-login" not in text and "my-password" not in text


def test_is_listening_when_socket_listens_then_true_and_false_once_closed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert not ports.is_listening(port)  # bound, not listening
        sock.listen()
        assert ports.is_listening(port)
    assert not ports.is_listening(port)
