"""Settling a key whose outcome was lost: ask the writer by orderRef, never resubmit blindly."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.commands import BracketCmd, Command, Outcome, SubmitCmd
from policy_service.domain.ports import IdemRecord, StoreUnavailable, WriterError

if TYPE_CHECKING:
    from policy_service.domain.gate import Gate

log = logging.getLogger(__name__)


def _in_progress() -> m.Denial:
    return m.Denial(
        reasons.IDEMPOTENCY_IN_PROGRESS,
        "UNAVAILABLE",
        10,
        "a request with this idempotency key is in flight; retry later",
    )


class Settler:
    def __init__(self, gate: Gate):
        self._gate = gate

    def settle(
        self, call: m.Call, cmd: Command, record: IdemRecord, ids: dict[str, Any]
    ) -> Outcome | m.Denial:
        gate = self._gate
        now = gate.clock.now_us()
        stale_before = now - gate.settings.pending_timeout_us
        fresh = record.status == "PENDING" and record.updated_at_us >= stale_before
        if fresh or not gate.store.claim_for_settlement(cmd.key, now, stale_before):
            return gate.refuse(call, _in_progress(), **ids)
        log.warning("settling an unknown outcome", extra={"idempotency_key": cmd.key})
        if isinstance(cmd, SubmitCmd | BracketCmd):
            found = self._find_at_broker(call, cmd, ids)
            if isinstance(found, m.Denial | Outcome):
                return found
        # Not at the broker (submit/bracket), or an operation that is safe to repeat
        # (cancel, modify to the same values): forward again under the same key.
        plan = gate.replan(cmd, now)
        if isinstance(plan, m.Denial):
            return self._give_up(call, cmd, plan, ids)
        return gate.forward(call, cmd, plan, ids)

    def _find_at_broker(
        self, call: m.Call, cmd: SubmitCmd | BracketCmd, ids: dict[str, Any]
    ) -> Outcome | m.Denial | None:
        gate = self._gate
        refs = (
            [cmd.key] if isinstance(cmd, SubmitCmd) else [cmd.key, f"{cmd.key}.tp", f"{cmd.key}.sl"]
        )
        orders: list[m.BrokerOrder] = []
        try:
            for ref in refs:
                orders.append(gate.writer.get_order(cmd.account_id, order_ref=ref))
        except WriterError as err:
            if err.kind == "NOT_FOUND" and not orders:
                return None
            return gate.writer_failed(
                call, cmd, WriterError("UNKNOWN", err.code, err.reason, err.message), ids
            )
        opened = [o.broker_order_id for o in orders]
        return gate.record_success(call, cmd, tuple(orders), opened, [], ids, replayed=True)

    def _give_up(
        self, call: m.Call, cmd: Command, denial: m.Denial, ids: dict[str, Any]
    ) -> m.Denial:
        """Step 8 no longer holds (e.g. the preview expired): close the key as refused."""
        gate = self._gate
        outcome = {
            "denial": {
                "reason": denial.reason,
                "code": denial.code,
                "step": denial.step,
                "message": denial.message,
                "metadata": dict(denial.metadata),
            }
        }
        draft = gate.draft(call, "REFUSED", denial, **ids)
        try:
            gate.store.finish(cmd.key, "REFUSED", outcome, [], [], draft, gate.clock.now_us())
        except StoreUnavailable:
            log.critical("could not close a settled key", extra={"idempotency_key": cmd.key})
        return denial
