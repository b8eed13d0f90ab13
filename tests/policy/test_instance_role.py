"""The policy's instance role: W enables live accounts, ABH paper ones only, R nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from livegate_common.config import ConfigError
from livegate_common.roles import Role
from policy_service import config as policy_config
from tests.policy.harness import policy_doc


def _doc(tmp_path: Path, dev_pki: Path, role: str | None, accounts: list[str], enabled: bool):  # type: ignore[no-untyped-def]
    doc: dict[str, Any] = policy_doc(dev_pki, tmp_path, 1, f"sqlite:///{tmp_path / 'p.db'}")
    if role is None:
        del doc["instance_role"]
    else:
        doc["instance_role"] = role
    doc["live_trading"]["allowed_accounts"] = accounts
    doc["live_trading"]["enabled"] = enabled
    doc["safety"]["live_trading_enabled"] = enabled
    return doc


@pytest.mark.parametrize(
    ("role", "accounts", "enabled"),
    [
        ("W", ["U1234567"], True),
        ("ABH", ["DU1234567", "DU7654321"], True),
        ("ABH", [], False),
        ("R", [], False),
    ],
)
def test_load_when_live_settings_fit_the_instance_role_then_accepted(
    tmp_path: Path, dev_pki: Path, role: str, accounts: list[str], enabled: bool
) -> None:
    config = policy_config.from_document(_doc(tmp_path, dev_pki, role, accounts, enabled), tmp_path)
    assert config.instance_role is Role(role)
    assert config.live.enabled is enabled
    assert config.live.allowed_accounts == frozenset(accounts)


@pytest.mark.parametrize(
    ("role", "accounts", "enabled", "key", "words"),
    [
        ("ABH", ["DU1234567", "U7654321"], True, "live_trading.allowed_accounts", "1 of 2"),
        ("ABH", ["U7654321"], True, "live_trading.allowed_accounts", "paper (DU...)"),
        ("R", ["DU1234567"], True, "live_trading.enabled", "refuses every write"),
        ("R", ["DU1234567"], False, "live_trading.enabled", "no allowed accounts"),
        ("W", ["U1234567", "DU1234567"], True, "live_trading.allowed_accounts", "1 of 2 are paper"),
    ],
)
def test_load_when_live_settings_exceed_the_instance_role_then_refused_naming_the_key(
    tmp_path: Path,
    dev_pki: Path,
    role: str,
    accounts: list[str],
    enabled: bool,
    key: str,
    words: str,
) -> None:
    with pytest.raises(ConfigError) as refused:
        policy_config.from_document(_doc(tmp_path, dev_pki, role, accounts, enabled), tmp_path)
    assert refused.value.key == key
    assert words in str(refused.value)
    # Account ids are never in the message: it goes to the log.
    assert not any(a in str(refused.value) for a in accounts)


@pytest.mark.parametrize("role", [None, "X", "w"])
def test_load_when_instance_role_missing_or_unknown_then_refused(
    tmp_path: Path, dev_pki: Path, role: str | None
) -> None:
    with pytest.raises(ConfigError) as refused:
        policy_config.from_document(_doc(tmp_path, dev_pki, role, [], False), tmp_path)
    assert refused.value.key == "instance_role"
