"""The principals each shipped config grants are the ones the dev stack (and its tested demo)
grants: a scope added for a new RPC must reach the compose stack and the Ansible default too."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from livegate_common.devconfig import DEV_POLICY_PRINCIPALS

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {
    "compose": (REPO / "docker" / "config" / "policy.yaml", "principals"),
    "ansible": (
        REPO / "ansible" / "roles" / "livegate_policy" / "defaults" / "main.yml",
        "livegate_policy_principals",
    ),
}


@pytest.mark.parametrize("where", sorted(SHIPPED))
def test_shipped_principals_when_compared_with_dev_then_each_holds_the_same_scopes(
    where: str,
) -> None:
    path, key = SHIPPED[where]
    principals = yaml.safe_load(path.read_text(encoding="utf-8"))[key]
    granted = {
        name: sorted(p.get("scopes") or [])
        for name, p in principals.items()
        if name in DEV_POLICY_PRINCIPALS
    }
    assert granted == {name: sorted(s) for name, s in DEV_POLICY_PRINCIPALS.items()}, path
