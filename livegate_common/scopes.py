"""The scopes a principal may hold; config naming any other scope is refused at start."""

from __future__ import annotations

from typing import Final

PREVIEW_CREATE: Final = "preview.create"
APPROVAL_GRANT: Final = "approval.grant"
LIVE_SUBMIT: Final = "live.submit"
LIVE_CANCEL: Final = "live.cancel"
LIVE_MODIFY: Final = "live.modify"
LIVE_BRACKET: Final = "live.bracket"
# Read back the broker's state of one order of an allowed account (GetBrokerOrder).
ORDERS_READ: Final = "orders.read"
KILLSWITCH_OPERATE: Final = "killswitch.operate"
AUDIT_READ: Final = "audit.read"
AUDIT_EXPORT: Final = "audit.export"
# Record the paper-to-live checklist acknowledgement (an operator, with a name on it).
CHECKLIST_ACKNOWLEDGE: Final = "checklist.acknowledge"
# The writer's only scope: held by the policy service's identity.
WRITER_CALL: Final = "writer.call"

POLICY_SCOPES: Final = frozenset(
    {
        PREVIEW_CREATE,
        APPROVAL_GRANT,
        LIVE_SUBMIT,
        LIVE_CANCEL,
        LIVE_MODIFY,
        LIVE_BRACKET,
        ORDERS_READ,
        KILLSWITCH_OPERATE,
        AUDIT_READ,
        AUDIT_EXPORT,
        CHECKLIST_ACKNOWLEDGE,
    }
)
WRITER_SCOPES: Final = frozenset({WRITER_CALL})
