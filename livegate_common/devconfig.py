"""The default dev configuration: which SAN is which principal, for the dev PKI's identities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from livegate_common import scopes
from livegate_common.pki import spiffe_id

POLICY_SERVICE_NAME = "livegate.v1.PolicyService"
WRITER_SERVICE_NAME = "livegate.v1.WriterService"
# The dev writer's broker.request_timeout_s, declared to the dev policy (writer.broker_timeout_s):
# the policy's writer deadline and pending timeout derive from it.
DEV_BROKER_TIMEOUT_S = 5.0

DEV_POLICY_PRINCIPALS: dict[str, list[str]] = {
    "upstream": [
        scopes.PREVIEW_CREATE,
        scopes.LIVE_SUBMIT,
        scopes.LIVE_CANCEL,
        scopes.LIVE_MODIFY,
        scopes.LIVE_BRACKET,
        scopes.ORDERS_READ,
    ],
    "approver": [scopes.APPROVAL_GRANT, scopes.AUDIT_READ],
    "operator": [
        scopes.KILLSWITCH_OPERATE,
        scopes.AUDIT_READ,
        scopes.AUDIT_EXPORT,
        scopes.CHECKLIST_ACKNOWLEDGE,
    ],
    # The second operator: confirms a reopen another operator requested.
    "operator2": [scopes.KILLSWITCH_OPERATE, scopes.AUDIT_READ],
}


def tls_section(pki_dir: Path, name: str) -> dict[str, str]:
    return {
        "ca": str(pki_dir / "ca.pem"),
        "cert": str(pki_dir / f"{name}.pem"),
        "key": str(pki_dir / f"{name}.key"),
    }


def policy_principals() -> dict[str, Any]:
    return {
        name: {"sans": [spiffe_id(name)], "scopes": list(granted)}
        for name, granted in DEV_POLICY_PRINCIPALS.items()
    }


def writer_principals() -> dict[str, Any]:
    return {"policy": {"sans": [spiffe_id("policy")], "scopes": [scopes.WRITER_CALL]}}
