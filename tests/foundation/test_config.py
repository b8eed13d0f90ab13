"""Config loading: environment overrides, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from livegate_common.config import ConfigError, get, load_document, principal_map
from livegate_common.scopes import POLICY_SCOPES


def test_load_when_env_overrides_nested_key_then_value_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("live_trading:\n  enabled: false\n")
    doc = load_document(
        path, "LIVEGATE_X", {"LIVEGATE_X__LIVE_TRADING__ENABLED": "true", "OTHER": "1"}
    )
    assert get(doc, "live_trading.enabled", bool) is True


def test_get_when_key_missing_then_error_names_key() -> None:
    with pytest.raises(ConfigError) as err:
        get({"a": {}}, "a.b", str)
    assert err.value.key == "a.b"
    assert "a.b" in str(err.value)


def test_get_when_type_is_wrong_then_error_names_key() -> None:
    with pytest.raises(ConfigError, match=r"config key a\.flag: must be true or false"):
        get({"a": {"flag": "yes"}}, "a.flag", bool)


def test_principals_when_scope_unknown_then_error_names_principal() -> None:
    doc = {"principals": {"bot": {"sans": ["spiffe://x/bot"], "scopes": ["live.everything"]}}}
    with pytest.raises(ConfigError) as err:
        principal_map(doc, POLICY_SCOPES)
    assert err.value.key == "principals.bot.scopes"


def test_principals_when_san_mapped_twice_then_refused() -> None:
    doc = {
        "principals": {
            "a": {"sans": ["spiffe://x/same"], "scopes": []},
            "b": {"sans": ["spiffe://x/same"], "scopes": []},
        }
    }
    with pytest.raises(ConfigError, match="spiffe://x/same"):
        principal_map(doc, POLICY_SCOPES)
