"""When the audit itself is down: a CRITICAL line with the request id, and a metric."""

from __future__ import annotations

import logging
from collections.abc import Callable

from livegate_common.metrics import record_unaudited
from policy_service.domain import model as m

log = logging.getLogger("livegate.policy.unaudited")

# Told of every write the audit store failed (the automatic stop); called in the except
# block that caught the failure, so sys.exc_info() is that failure.
observers: list[Callable[[m.Call, str], None]] = []


def unaudited(call: m.Call, what: str, reason: str, **extra: str) -> None:
    """Record that CALL's WHAT (a refusal, a failure, a close) could not be audited."""
    log.critical(
        "not audited: %s",
        what,
        extra={"request_id": call.request_id, "method": call.method, "reason": reason, **extra},
    )
    record_unaudited(call.method, reason)
    for observer in list(observers):
        observer(call, reason)
