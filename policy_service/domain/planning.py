"""Step 8 per command: find and check the previews and approvals, and plan the writer call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policy_service.domain import approvals as appr
from policy_service.domain import limits
from policy_service.domain import model as m
from policy_service.domain.commands import BracketCmd, CancelCmd, Command, ModifyCmd, SubmitCmd
from policy_service.domain.denials import internal
from policy_service.domain.legs import from_preview
from policy_service.domain.ports import Store, Writer
from policy_service.domain.scopes import strategy_mismatch


@dataclass
class Plan:
    """What step 8 found: the legs to limit-check and what step 10/11 need."""

    legs: list[limits.Leg] = field(default_factory=list)
    approval_ids: tuple[str, ...] = ()
    notional: Decimal = Decimal(0)
    new_orders: int = 0
    # (request id, settle) -> what the broker holds; settle: the key's first answer was lost.
    send: Callable[[str, bool], tuple[m.BrokerOrder, ...]] = lambda _rid, _settle: ()
    preview_id: str = ""
    # The broker's account state the position and exposure limits use (step 9), if any.
    account_state: Any = None
    # Who created the preview(s): a stopped principal's preview is not sent by another caller.
    creators: tuple[str, ...] = ()
    # A REDUCING scope's judgement (reducing.Held) that step 10 repeats under the account's
    # lock; None when no REDUCING scope applies.
    reducing: Any = None


class Planner:
    def __init__(self, store: Store, writer: Writer):
        self.store = store
        self.writer = writer

    def plan(self, cmd: Command, now: int, own_key: str = "") -> Plan | m.Denial:
        """Step 8: the preview(s) and approval(s) the command names, and what to send."""
        if isinstance(cmd, CancelCmd):
            return Plan(
                send=lambda rid, _settle: (
                    self.writer.cancel(rid, cmd.account_id, cmd.broker_order_id, cmd.key),
                )
            )
        if isinstance(cmd, BracketCmd):
            return self._plan_bracket(cmd, now, own_key)
        kind = m.Kind.ORDER if isinstance(cmd, SubmitCmd) else m.Kind.MODIFY
        preview = self.store.get_previews([cmd.preview_id]).get(cmd.preview_id)
        denial = appr.check_preview(preview, cmd.preview_id, kind, cmd.account_id, now)
        if denial is not None or preview is None:
            return denial or internal()
        if preview.strategy != cmd.strategy:
            return strategy_mismatch(preview.strategy, cmd.strategy)
        approval = self.store.get_approvals([cmd.approval_id]).get(cmd.approval_id)
        denial = appr.check_approval(approval, cmd.approval_id, cmd.preview_id, now, own_key)
        if denial is not None:
            return denial
        leg = self._leg(preview, now)
        if isinstance(cmd, ModifyCmd):
            denial = appr.check_modify_matches(preview, cmd.broker_order_id, cmd.changes)
            if denial is not None:
                return denial
            return Plan(
                legs=[leg],
                approval_ids=(cmd.approval_id,),
                notional=leg.notional,
                creators=(preview.created_by,),
                send=lambda rid, _settle: (
                    self.writer.modify(
                        rid, cmd.account_id, cmd.broker_order_id, cmd.changes, cmd.key
                    ),
                ),
            )
        return Plan(
            legs=[leg],
            approval_ids=(cmd.approval_id,),
            notional=leg.notional,
            new_orders=1,
            creators=(preview.created_by,),
            send=lambda rid, settle: (
                self.writer.submit(rid, cmd.account_id, preview.order, cmd.key, settle),
            ),
        )

    def _plan_bracket(self, cmd: BracketCmd, now: int, own_key: str) -> Plan | m.Denial:
        found = self.store.get_previews(cmd.preview_ids)
        approvals = self.store.get_approvals(cmd.approval_ids)
        legs: list[m.Preview] = []
        for preview_id, approval_id in zip(cmd.preview_ids, cmd.approval_ids, strict=True):
            preview = found.get(preview_id)
            denial = appr.check_preview(
                preview, preview_id, m.Kind.BRACKET_LEG, cmd.account_id, now
            )
            if denial is not None or preview is None:
                return denial or internal()
            if preview.strategy != cmd.strategy:
                return strategy_mismatch(preview.strategy, cmd.strategy)
            denial = appr.check_approval(
                approvals.get(approval_id), approval_id, preview_id, now, own_key
            )
            if denial is not None:
                return denial
            legs.append(preview)
        denial = appr.check_bracket_group(legs)
        if denial is not None:
            return denial
        checked = [self._leg(p, now) for p in legs]
        orders = (legs[0].order, legs[1].order, legs[2].order)
        return Plan(
            legs=checked,
            approval_ids=cmd.approval_ids,
            # The exits only reduce the entry's exposure; the entry is what the day adds.
            notional=checked[0].notional,
            new_orders=3,
            creators=tuple(p.created_by for p in legs),
            send=lambda rid, settle: self.writer.bracket(
                rid, cmd.account_id, orders, cmd.key, settle
            ),
        )

    def _leg(self, preview: m.Preview, now: int) -> limits.Leg:
        return from_preview(preview, now)
