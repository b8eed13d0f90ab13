"""Steps 11 and 12: send a planned write to the writer once, and record what the broker holds.

Used by the gate for a new key and by the settler for a key whose first answer was lost; it
calls neither. A writer answer closes a key as refused (its approvals released, its notional
refunded) only when it means the broker holds nothing this request placed; anything else that
may be at the broker keeps the key pending and its approvals reserved.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping
from typing import Any, Final

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.commands import CancelCmd, Command, Outcome
from policy_service.domain.denials import to_dict
from policy_service.domain.drafts import Drafts
from policy_service.domain.planning import Plan
from policy_service.domain.ports import Clock, Store, StoreUnavailable, WriterError

log = logging.getLogger(__name__)

# Writer reasons that come from the broker's truth, read back: the broker holds nothing this
# write placed (or, for a cancel or modify, the order's state is known and nothing is reserved).
READ_BACK_REFUSALS: Final = frozenset(
    {
        reasons.BROKER_REJECTED,
        reasons.ORDER_REF_MISMATCH,
        reasons.ORDER_NOT_MODIFIABLE,
        reasons.CANCEL_NOT_CONFIRMED,
        reasons.ORDER_FILLED_BEFORE_CANCEL,
    }
)
# Refusals of this call before it sent anything: definite for a first attempt, but when
# settling they say nothing of what the first attempt left at the broker.
NOTHING_SENT: Final = frozenset(
    {
        reasons.WRITER_KILL_SWITCH_CLOSED,
        # The reducing guard judges before the send, as the switch refuses at it.
        reasons.WRITER_KILL_SWITCH_REDUCING_INCREASES,
        reasons.WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO,
        reasons.WRITER_KILL_SWITCH_REDUCING_UNJUDGED,
        reasons.WRITER_KILL_SWITCH_REDUCING_BRACKET,
        reasons.WRITER_PERMISSION_UNPROVEN,
        "INSTRUMENT_NOT_FOUND",
    }
)
# Status codes the writer answers only before it sends anything (shape, scope, account, lookup).
NOTHING_SENT_CODES: Final = frozenset({"INVALID_ARGUMENT", "PERMISSION_DENIED", "NOT_FOUND"})
_DONE: Final = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
LEGS: Final = ("parent", "take_profit", "stop_loss")


class Verdict(enum.Enum):
    REFUSED = "REFUSED"  # nothing at the broker: close the key, release the approvals
    PARTIAL = "PARTIAL"  # part of a bracket is at the broker: close it, approvals spent
    UNAVAILABLE = "UNAVAILABLE"  # the writer could not be asked: nothing was sent
    UNKNOWN = "UNKNOWN"  # it may be at the broker: keep the key pending


def verdict_of(err: WriterError, settle: bool) -> Verdict:
    """SETTLE: the call settles an earlier attempt whose outcome was lost."""
    if err.reason == reasons.BRACKET_PARTIALLY_PLACED:
        return Verdict.PARTIAL
    if err.reason in READ_BACK_REFUSALS:
        return Verdict.REFUSED
    if not settle and (err.reason in NOTHING_SENT or err.code in NOTHING_SENT_CODES):
        return Verdict.REFUSED
    if err.code == "UNAVAILABLE":
        return Verdict.UNAVAILABLE
    return Verdict.UNKNOWN


def messages_detail(orders: tuple[m.BrokerOrder, ...]) -> dict[str, str]:
    """The broker's messages about ORDERS, for the audit event's detail."""
    said = [m.message_to_dict(x) for o in orders for x in o.messages]
    return {"broker_messages": json.dumps(said)} if said else {}


class Forwarder:
    def __init__(self, store: Store, clock: Clock, drafts: Drafts):
        self._store = store
        self._clock = clock
        self._drafts = drafts

    def forward(
        self, call: m.Call, cmd: Command, plan: Plan, ids: dict[str, Any], settle: bool = False
    ) -> Outcome | m.Denial:
        """Call the writer once (SETTLE: it reads the broker back before sending anything)."""
        try:
            orders = plan.send(call.request_id, settle)
        except WriterError as err:
            return self.failed(call, cmd, err, ids, settle)
        opened = [o.broker_order_id for o in orders] if plan.new_orders else []
        closed = [cmd.broker_order_id] if isinstance(cmd, CancelCmd) else []
        return self._succeeded(call, cmd, orders, opened, closed, ids, replayed=settle)

    def _succeeded(
        self,
        call: m.Call,
        cmd: Command,
        orders: tuple[m.BrokerOrder, ...],
        opened: list[int],
        closed: list[int],
        ids: dict[str, Any],
        replayed: bool,
    ) -> Outcome | m.Denial:
        outcome = {"orders": [m.broker_order_to_dict(o) for o in orders]}
        fields = {**ids, "broker_order_id": orders[0].broker_order_id if orders else 0}
        draft = self._drafts.draft(
            call, "EXECUTED", None, detail=messages_detail(orders), **_switch_state(fields)
        )
        try:
            event_id = self._store.finish(
                cmd.key, "SUCCEEDED", outcome, opened, closed, draft, self._clock.now_us()
            )
        except StoreUnavailable:
            log.critical(
                "writer executed but the outcome was not recorded",
                extra=self._drafts.log_ids(ids),
            )
            return m.Denial(
                reasons.OUTCOME_NOT_RECORDED,
                "UNAVAILABLE",
                12,
                "the writer answered but the outcome could not be stored; retry the same key",
            )
        return Outcome(tuple(orders), replayed, event_id)

    def failed(
        self, call: m.Call, cmd: Command, err: WriterError, ids: dict[str, Any], settle: bool
    ) -> m.Denial:
        """Step 12 for a writer error: its reason and the broker's words pass through."""
        verdict = verdict_of(err, settle)
        meta = {**err.metadata, "writer_reason": err.reason, "writer_code": err.code}
        if verdict is Verdict.REFUSED:
            denial = m.Denial(
                err.reason or reasons.WRITER_REFUSED,
                err.code,
                11,
                f"the writer refused: {err.message}",
                meta,
            )
            return self._close(call, cmd, "REFUSED", denial, [], ids)
        if verdict is Verdict.PARTIAL:
            denial = m.Denial(
                reasons.BRACKET_PARTIALLY_PLACED,
                "FAILED_PRECONDITION",
                11,
                f"{err.message}; the approvals are spent, see the legs in metadata",
                meta,
            )
            return self._close(call, cmd, "PARTIAL", denial, _still_working(meta), ids)
        reason = (
            reasons.WRITER_UNAVAILABLE
            if verdict is Verdict.UNAVAILABLE
            else reasons.WRITER_OUTCOME_UNKNOWN
        )
        denial = m.Denial(
            reason,
            "UNAVAILABLE",
            11,
            f"writer call failed ({err.code}): {err.message}; retry the same key to settle it",
            {**meta, "grpc_code": err.code},
        )
        return self.keep_unknown(call, cmd, denial, ids)

    def keep_unknown(
        self, call: m.Call, cmd: Command, denial: m.Denial, ids: dict[str, Any]
    ) -> m.Denial:
        """The write may be at the broker: the key stays pending (a retry settles it) and its
        approvals stay reserved."""
        draft = self._drafts.draft(call, "FAILED", denial, **_switch_state(ids))
        try:
            self._store.mark_unknown(cmd.key, draft, self._clock.now_us())
        except StoreUnavailable:
            log.critical("could not mark the outcome unknown", extra=self._drafts.log_ids(ids))
        return denial

    def _close(
        self,
        call: m.Call,
        cmd: Command,
        status: str,
        denial: m.Denial,
        opened: list[int],
        ids: dict[str, Any],
    ) -> m.Denial:
        outcome = {"denial": to_dict(denial)}
        draft = self._drafts.draft(call, "REFUSED", denial, **_switch_state(ids))
        try:
            self._store.finish(cmd.key, status, outcome, opened, [], draft, self._clock.now_us())
        except StoreUnavailable:
            log.critical("writer refusal not recorded", extra=self._drafts.log_ids(ids))
        return denial


def _switch_state(fields: Mapping[str, Any]) -> dict[str, Any]:
    """FIELDS with the switch state step 6 passed the write in (the gate puts REDUCING in the
    audit ids of a reduce-only write); OPEN otherwise."""
    return {"kill_switch_state": "OPEN", **fields}


def _still_working(meta: Mapping[str, str]) -> list[int]:
    """The legs of a partial bracket the writer left working (they count as open orders)."""
    cancelled = set(meta.get("cancelled_broker_order_ids", "").split(","))
    working = []
    for leg in LEGS:
        order_id = meta.get(f"{leg}_broker_order_id", "")
        if order_id and order_id not in cancelled and meta.get(f"{leg}_status") not in _DONE:
            working.append(int(order_id))
    return working
