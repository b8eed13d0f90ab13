"""What the shipped configs (compose stack, Ansible defaults) grant and limit is what the dev
stack, whose demo is tested, does: a scope or limit added there must reach them too."""

from __future__ import annotations

import pytest
import yaml

from livegate_common.devconfig import DEV_POLICY_PRINCIPALS
from policy_service.devconfig import dev_risk_policy
from tests.deploy.ansible_run import REPO

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


def test_compose_risk_policy_when_compared_with_dev_then_the_same_policy() -> None:
    # The compose stack runs the dev identities and the demo: the same limits let its orders pass.
    shipped = yaml.safe_load((REPO / "docker" / "config" / "risk-policy.yaml").read_text())
    assert shipped == dev_risk_policy()
