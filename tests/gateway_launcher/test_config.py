"""The launcher's config: each role's session kind, the managed IBC keys, the argv placeholder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway_launcher import config as launcher_config
from livegate_common.config import ConfigError


def _doc(role_: str, mode: str, ro_login: bool, ro_api: bool, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "role": role_,
        "vault": {
            "addr": "https://vault.test.invalid:8200",
            "role_id": "rid",
            "wrapped_secret_id_file": "/etc/livegate/gateway/secret-id.wrapped",
            "secret_path": f"livegate/{role_}/ib_login",
        },
        "ibc": {
            "trading_mode": mode,
            "read_only_login": ro_login,
            "read_only_api": ro_api,
            "api_port": 4001,
        },
        "gateway": {"argv": ["/opt/ibc/scripts/ibcstart.sh", "--ibc-ini={ibc_ini}"]},
    }
    for dotted, value in extra.items():
        node = doc
        *parents, last = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return doc


@pytest.mark.parametrize(
    ("role", "mode", "ro_login", "ro_api"),
    [
        ("W", "live", False, False),
        ("R", "paper", True, True),
        ("ABH", "paper", False, False),
        ("ABH", "paper", True, True),
        ("ABH", "paper", False, True),
    ],
)
def test_load_when_session_fits_the_role_then_accepted(
    role: str, mode: str, ro_login: bool, ro_api: bool
) -> None:
    config = launcher_config.from_document(_doc(role, mode, ro_login, ro_api), Path("/"))
    assert config.role.value == role and config.ibc.trading_mode == mode
    assert config.ibc.config_file == Path("/run/livegate-gateway/config.ini")
    assert config.ibc.require_tmpfs
    assert config.gateway.env == {"PATH": "/usr/local/bin:/usr/bin:/bin"}


@pytest.mark.parametrize(
    ("role", "mode", "ro_login", "ro_api", "key"),
    [
        ("R", "live", True, True, "ibc.trading_mode"),
        ("ABH", "live", False, False, "ibc.trading_mode"),
        ("R", "paper", True, False, "ibc.read_only_login"),
        ("R", "paper", False, True, "ibc.read_only_login"),
        ("W", "paper", False, False, "ibc.trading_mode"),
        ("W", "live", False, True, "ibc.read_only_api"),
        ("W", "live", True, False, "ibc.read_only_api"),
    ],
)
def test_load_when_session_does_not_fit_the_role_then_refused_naming_the_key(
    role: str, mode: str, ro_login: bool, ro_api: bool, key: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        launcher_config.from_document(_doc(role, mode, ro_login, ro_api), Path("/"))
    assert refused.value.key == key


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"ibc__settings": {"ReadOnlyApi": "no"}}, "ibc.settings.ReadOnlyApi"),
        (
            {"ibc__settings": {"TrustedTwsApiClientIPs": "0.0.0.0"}},
            "ibc.settings.TrustedTwsApiClientIPs",
        ),
        ({"ibc__settings": {"Bad Key": "x"}}, "ibc.settings.Bad Key"),
        ({"ibc__api_port": 80}, "ibc.api_port"),
        ({"ibc__trading_mode": "demo"}, "ibc.trading_mode"),
        ({"gateway__argv": ["/opt/ibc/scripts/ibcstart.sh"]}, "gateway.argv"),
        ({"gateway__ready_timeout_s": 0}, "gateway.ready_timeout_s"),
        ({"role": "X"}, "role"),
    ],
)
def test_load_when_config_unsafe_then_refused_naming_the_key(
    overrides: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        launcher_config.from_document(_doc("R", "paper", True, True, **overrides), Path("/"))
    assert refused.value.key == key
