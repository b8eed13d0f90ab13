"""Settling a key whose outcome was lost: the writer reads the broker back, never resends blindly.

The gate hands over a key it has claimed (UNKNOWN, or PENDING left by a crash). Step 8 is
checked again as of the key's first attempt (its previews and approvals may have expired
since, but they held then), and the write goes to the writer once more with settle set: for a
submit or bracket the writer reads open orders, completed orders and executions by orderRef
and sends nothing if any order with that ref is there (or if a query does not answer); a
cancel or modify is safe to repeat and is decided by the broker's truth as the first was.
"""

from __future__ import annotations

import logging
from typing import Any

from policy_service.domain import model as m
from policy_service.domain.commands import Command, Outcome
from policy_service.domain.forwarding import Forwarder
from policy_service.domain.planning import Planner
from policy_service.domain.ports import IdemRecord

log = logging.getLogger(__name__)


class Settler:
    def __init__(self, planner: Planner, forwarder: Forwarder):
        self._planner = planner
        self._forwarder = forwarder

    def settle(
        self, call: m.Call, cmd: Command, record: IdemRecord, ids: dict[str, Any]
    ) -> Outcome | m.Denial:
        log.warning("settling an unknown outcome", extra={"idempotency_key": cmd.key})
        plan = self._planner.plan(cmd, record.created_at_us, own_key=cmd.key)
        if isinstance(plan, m.Denial):
            # Step 8 held when this key began; failing now means its rows changed under it.
            # The broker may hold the write: never release what it bought on that ground.
            log.critical(
                "a settled key no longer passes step 8; left pending",
                extra={"idempotency_key": cmd.key, "reason": plan.reason},
            )
            return self._forwarder.keep_unknown(call, cmd, plan, ids)
        return self._forwarder.forward(call, cmd, plan, ids, settle=True)
