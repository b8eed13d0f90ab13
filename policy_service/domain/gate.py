"""The gate: steps 3-12 of every live write, in order; refusals audited with their step."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Mapping
from typing import Any

from livegate_common.close_first import CloseFirst
from policy_service import reasons
from policy_service.domain import limits
from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft, account_hash
from policy_service.domain.checklist import Checklist
from policy_service.domain.close_latch import CloseLatch
from policy_service.domain.commands import (
    BracketCmd,
    CancelCmd,
    Command,
    ModifyCmd,
    Outcome,
    SubmitCmd,
    request_hash,
)
from policy_service.domain.denials import (
    audit_down,
    closed,
    day_of,
    from_dict,
    scope_denial,
    switch_reducing_bracket,
)
from policy_service.domain.depth import Depth
from policy_service.domain.drafts import Drafts
from policy_service.domain.enablement import account_denial, enablement_denial, static_conditions
from policy_service.domain.forwarding import Forwarder
from policy_service.domain.planning import Plan, Planner
from policy_service.domain.ports import (
    Clock,
    IdemRecord,
    PendingWrite,
    Store,
    StoreUnavailable,
    Writer,
)
from policy_service.domain.reducing import Held, Reducing
from policy_service.domain.refusal_flood import RefusalFlood
from policy_service.domain.risk_policy import RiskPolicy
from policy_service.domain.scopes import ScopedStop, check, reducing_bracket, subjects
from policy_service.domain.settings import GateSettings
from policy_service.domain.settle import Settler
from policy_service.domain.unaudited import unaudited

log = logging.getLogger(__name__)

SCOPES: Mapping[type, str] = {
    SubmitCmd: "live.submit",
    CancelCmd: "live.cancel",
    ModifyCmd: "live.modify",
    BracketCmd: "live.bracket",
}
KINDS: Mapping[type, m.Kind] = {
    SubmitCmd: m.Kind.SUBMIT,
    CancelCmd: m.Kind.CANCEL,
    ModifyCmd: m.Kind.MODIFY,
    BracketCmd: m.Kind.BRACKET,
}
__all__ = ["Gate", "Plan"]


class Gate:
    def __init__(
        self,
        settings: GateSettings,
        policy: RiskPolicy,
        store: Store,
        writer: Writer,
        clock: Clock,
    ):
        self.settings = settings
        self.policy = policy
        self.store = store
        self.writer = writer
        self.clock = clock
        self._enablement = enablement_denial(static_conditions(settings, policy))
        # A close not stored yet still closes this replica (step 6).
        self.latch = CloseLatch()
        # While a close runs, writes wait at their checkpoints (never inside a step).
        self.close_first = CloseFirst()
        # Audits every refusal until the service sets its own (see refusal_flood).
        self.refusals = RefusalFlood(interval_us=0, limit_per_min=0)
        # A decision hashes its account id four times (account check, pending row, two audit
        # events); bounded, because account ids come from callers.
        self._account_hashes = functools.lru_cache(maxsize=256)(
            functools.partial(account_hash, settings.account_hash_key)
        )
        self._drafts = Drafts(self.account_hash, policy.policy_id)
        self._planner = Planner(store, writer)
        # One direction: the gate forwards new keys and hands lost ones to the settler; both
        # send through the forwarder, which records the outcome and calls nobody back.
        self._forwarder = Forwarder(store, clock, self._drafts)
        self._settler = Settler(self._planner, self._forwarder)
        self.checklist = Checklist(self)
        self.depth = Depth(self)
        self.reducing = Reducing(store, writer, clock, settings.reducing_position_max_age_us)

    # ---- audit helpers ---------------------------------------------------------------------

    def account_hash(self, account_id: str) -> str:
        return self._account_hashes(account_id)

    def draft(
        self,
        call: m.Call,
        outcome: str,
        denial: m.Denial | None = None,
        **fields: Any,
    ) -> AuditDraft:
        return self._drafts.draft(call, outcome, denial, **fields)

    def refuse(self, call: m.Call, denial: m.Denial, **fields: Any) -> m.Denial:
        """Audit a refusal (its only write) and hand it back for the servicer to send."""
        if not self.refusals.admit(call, denial, self.clock.now_us()):
            return denial  # a repeat: counted into its interval's summary event
        fields.setdefault("kill_switch_state", self._switch_state_label())
        try:
            self.store.append_audit(
                self.draft(call, "REFUSED", denial, **fields), self.clock.now_us()
            )
        except StoreUnavailable:
            unaudited(call, "refusal", denial.reason, gate_step=str(denial.step))
        log.info(
            "refused",
            extra={"method": call.method, "reason": denial.reason, "step": denial.step},
        )
        return denial

    def scope_check(self, call: m.Call, cmd: Command) -> tuple[m.Denial | None, list[ScopedStop]]:
        """Step 6's scoped stops: the account, the caller, the strategy (cancels pass: they
        only reduce risk). A closed scope's denial, a bracket's in a REDUCING one, and the
        REDUCING scopes the write is judged by once its order is known. A store that cannot
        say is a refusal, as for the switch."""
        if isinstance(cmd, CancelCmd):
            return None, []
        account = self.account_hash(cmd.account_id)
        try:
            closed, reducing = check(self.store, subjects(account, (call.principal,), cmd.strategy))
        except StoreUnavailable:
            return audit_down(), []
        if closed is None and reducing and isinstance(cmd, BracketCmd):
            return reducing_bracket(reducing[0]), reducing
        return closed, reducing

    def _creators_stopped(
        self, call: m.Call, plan: Plan
    ) -> tuple[m.Denial | None, list[ScopedStop]]:
        """Step 6 again once step 8 named the previews: their creators' principal stops (an
        approval granted while its creator's stop was being stored is not sent by another)."""
        others = tuple(c for c in plan.creators if c != call.principal)
        if not others:
            return None, []
        try:
            return check(self.store, subjects("", others, ""))
        except StoreUnavailable:
            return audit_down(), []

    def _switch_state_label(self) -> str:
        try:
            return self.store.kill_switch().state.value
        except StoreUnavailable:
            return ""

    # ---- the pipeline ----------------------------------------------------------------------

    def execute(self, call: m.Call, cmd: Command) -> Outcome | m.Denial:
        self.close_first.checkpoint()
        now = self.clock.now_us()
        ids = _audit_ids(cmd)

        def refuse(denial: m.Denial) -> m.Denial:
            return self.refuse(call, denial, **ids)

        scope = scope_denial(call, SCOPES[type(cmd)])
        if scope is not None:
            return refuse(scope)
        if self._enablement is not None:
            return refuse(self._enablement)
        # A store that cannot say whether the checklist was acknowledged is a store outage:
        # steps 6-7 answer it (a close this replica holds first), and once the store has
        # answered them the checklist is asked again, never skipped.
        try:
            checklist = self.checklist.denial(now)
        except StoreUnavailable:
            checklist, checklist_unread = None, True
        else:
            checklist_unread = False
        if checklist is not None:
            return refuse(checklist)
        acct = account_denial(self.settings, cmd.account_id, self.account_hash(cmd.account_id))
        if acct is not None:
            return refuse(acct)
        # One pinned connection serves the decision's reads (steps 6-9), and where the store
        # reads and writes through one pool (PostgreSQL) its two transactions too.
        with self.store.reading():
            checked = self._check(call, cmd, ids, now, checklist_unread)
            if not isinstance(checked, tuple):
                return checked
            plan, digest = checked
            return self._run(call, cmd, plan, digest, ids, now)

    def _check(
        self, call: m.Call, cmd: Command, ids: dict[str, Any], now: int, checklist_unread: bool
    ) -> tuple[Plan, str] | Outcome | m.Denial:
        """Steps 6-9: the plan and request digest to run, or the answer to give now."""

        def refuse(denial: m.Denial) -> m.Denial:
            return self.refuse(call, denial, **ids)

        latched = self.latch.denial()
        if latched is not None:
            return refuse(latched)
        try:
            switch = self.store.kill_switch()
        except StoreUnavailable:
            return refuse(audit_down())
        if switch.state is m.SwitchState.CLOSED:
            return refuse(closed(switch))
        if switch.state is m.SwitchState.REDUCING:
            if isinstance(cmd, BracketCmd):
                return refuse(switch_reducing_bracket(switch))
            # Reduce-only: the writer judges it against the broker's positions (step 11), and
            # every event of this write records the state it passed in.
            ids["kill_switch_state"] = switch.state.value
        stopped, reducing = self.scope_check(call, cmd)
        if stopped is not None:
            return refuse(stopped)
        if not self.store.audit_available():
            return refuse(audit_down())
        if checklist_unread:
            try:
                checklist = self.checklist.denial(now)
            except StoreUnavailable:
                return refuse(audit_down())
            if checklist is not None:
                return refuse(checklist)
        digest = request_hash(cmd)
        existing = self.store.get_record(cmd.key)
        if existing is not None:
            return self._existing(call, cmd, existing, digest, ids)
        plan = self._planner.plan(cmd, now)
        if isinstance(plan, m.Denial):
            # A duplicate that lost the race to its twin sees the approval the twin reserved:
            # it is the same request, so it gets the twin's outcome, not a refusal.
            raced = self.store.get_record(cmd.key)
            if raced is not None:
                return self._existing(call, cmd, raced, digest, ids)
            return refuse(plan)
        stopped, creators_reducing = self._creators_stopped(call, plan)
        if stopped is not None:
            return refuse(stopped)
        # A REDUCING scope judges the order step 8 loaded (reported as step 6), and again at
        # step 10 under the account's lock (plan.reducing).
        held = self.reducing.check(cmd, plan.legs, reducing + creators_reducing)
        if isinstance(held, m.Denial):
            return refuse(held)
        plan.reducing = held
        cancel = isinstance(cmd, CancelCmd)
        denial = self.depth.blackout(cancel, now) or limits.first_denial(self.policy, plan.legs)
        if denial is not None:
            return refuse(denial)
        state = self.depth.account_state(cmd.account_id, plan)
        if isinstance(state, m.Denial):
            return refuse(state)
        plan.account_state = state
        return plan, digest

    def _run(
        self,
        call: m.Call,
        cmd: Command,
        plan: Plan,
        digest: str,
        ids: dict[str, Any],
        now: int,
    ) -> Outcome | m.Denial:
        pending = PendingWrite(
            key=cmd.key,
            request_hash=digest,
            kind=KINDS[type(cmd)],
            account_hash=self.account_hash(cmd.account_id),
            approval_ids=plan.approval_ids,
            notional=plan.notional,
            new_orders=plan.new_orders,
            day=day_of(now),
            **self.depth.pending_fields(call, cmd, plan, self.account_hash(cmd.account_id)),
        )
        counts_as_open = plan.new_orders > 0
        state = plan.account_state
        cancel = isinstance(cmd, CancelCmd)
        query = self.depth.query(call, cancel, plan, pending.fingerprint, state, now)
        held: Held | None = plan.reducing
        if held is not None and query.exposure_since_us is None:
            # livegate's orders that ended since the position was read count as working.
            query = dataclasses.replace(query, exposure_since_us=held.asked_at_us)

        def usage_check(usage: limits.Usage) -> m.Denial | None:
            return (
                self.depth.stopped(call, usage)
                or (held.denial(usage.exposure) if held is not None else None)
                or limits.check_usage(
                    self.policy, usage, plan.new_orders, plan.notional, counts_as_open
                )
                or self.depth.usage_denial(pending.messages, plan, usage, state, now)
            )

        draft = self.draft(
            call, "PENDING", None, gate_step=10, **{"kill_switch_state": "OPEN", **ids}
        )
        self.close_first.checkpoint()
        try:
            begun = self.store.begin(pending, usage_check, draft, now, query)
        except StoreUnavailable:
            log.exception("pending transaction failed")
            return self.refuse(call, audit_down(), **ids)
        if begun.denial is not None:
            return self.refuse(call, begun.denial, **ids)
        if begun.existing is not None:
            return self._existing(call, cmd, begun.existing, digest, ids)
        self.close_first.checkpoint()
        return self._forwarder.forward(call, cmd, plan, ids)

    def _existing(
        self,
        call: m.Call,
        cmd: Command,
        record: IdemRecord,
        digest: str,
        ids: dict[str, Any],
    ) -> Outcome | m.Denial:
        """Step 10 for a key seen before: its recorded outcome, in flight, or settled now."""
        if record.request_hash != digest:
            return self.refuse(
                call,
                m.Denial(
                    reasons.IDEMPOTENCY_KEY_REUSED,
                    "ALREADY_EXISTS",
                    10,
                    "the idempotency key was used with a different request",
                    {"idempotency_key": cmd.key},
                ),
                **ids,
            )
        if record.status == "SUCCEEDED" and record.outcome is not None:
            orders = tuple(m.broker_order_from_dict(o) for o in record.outcome["orders"])
            return Outcome(orders, True, 0)
        if record.status in ("REFUSED", "PARTIAL") and record.outcome is not None:
            # A replayed refusal is a refusal of this call too: audited, marked as a replay.
            return self.refuse(
                call, from_dict(record.outcome["denial"]), **ids, detail={"replayed": "true"}
            )
        now = self.clock.now_us()
        stale_before = now - self.settings.pending_timeout_us
        fresh = record.status == "PENDING" and record.updated_at_us >= stale_before
        if fresh or not self.store.claim_for_settlement(cmd.key, now, stale_before):
            return self.refuse(call, _in_progress(), **ids)
        return self._settler.settle(call, cmd, record, ids)


def _in_progress() -> m.Denial:
    # ABORTED: the request conflicts with one in flight; retrying the same key later is right.
    return m.Denial(
        reasons.IDEMPOTENCY_IN_PROGRESS,
        "ABORTED",
        10,
        "a request with this idempotency key is in flight; retry the same key later",
    )


def _audit_ids(cmd: Command) -> dict[str, Any]:
    ids: dict[str, Any] = {"account_id": cmd.account_id, "idempotency_key": cmd.key}
    if isinstance(cmd, SubmitCmd | ModifyCmd):
        ids["preview_id"], ids["approval_id"] = cmd.preview_id, cmd.approval_id
    if isinstance(cmd, BracketCmd):
        ids["preview_id"] = ",".join(cmd.preview_ids)
        ids["approval_id"] = ",".join(cmd.approval_ids)
    if isinstance(cmd, CancelCmd | ModifyCmd):
        ids["broker_order_id"] = cmd.broker_order_id
    return ids
