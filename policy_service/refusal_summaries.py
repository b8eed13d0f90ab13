"""Writes one summary event per folded window of refusals (see domain.refusal_flood)."""

from __future__ import annotations

import logging
import uuid

from policy_service.domain import model as m
from policy_service.domain.gate import Gate
from policy_service.domain.ports import StoreUnavailable

log = logging.getLogger("livegate.audit.refusals")


def flush_refusal_summaries(gate: Gate) -> int:
    """Append the summaries of the windows that ended; how many were written."""
    now = gate.clock.now_us()
    written = 0
    for summary in gate.refusals.due(now):
        window = summary.window
        call = m.Call(window.method, f"aggregate-{uuid.uuid4().hex[:16]}", window.principal,
                      frozenset())  # fmt: skip
        draft = gate.draft(call, "REFUSED", window.denial, detail=summary.detail())
        try:
            gate.store.append_audit(draft, now)
            written += 1
        except StoreUnavailable:
            log.critical(
                "could not audit folded refusals",
                extra={"reason": window.denial.reason, "count": window.folded,
                       "first_request_id": window.first_request_id,
                       "last_request_id": window.last_request_id},
            )  # fmt: skip
    return written
