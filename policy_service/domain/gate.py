"""The gate: steps 3-12 of every live write, in order; refusals audited with their step."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from policy_service import reasons
from policy_service.domain import limits
from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft, account_hash
from policy_service.domain.checklist import Checklist
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
    to_dict,
)
from policy_service.domain.depth import Depth
from policy_service.domain.enablement import account_denial, enablement_denial, static_conditions
from policy_service.domain.planning import Plan, Planner
from policy_service.domain.ports import (
    Clock,
    IdemRecord,
    PendingWrite,
    Store,
    StoreUnavailable,
    Writer,
    WriterError,
)
from policy_service.domain.risk_policy import RiskPolicy
from policy_service.domain.settings import GateSettings
from policy_service.domain.settle import Settler

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
        self._settler = Settler(self)
        self._planner = Planner(store, writer)
        self.checklist = Checklist(self)
        self.depth = Depth(self)
        # A decision hashes its account id four times (account check, pending row, two audit
        # events); bounded, because account ids come from callers.
        self._account_hashes = functools.lru_cache(maxsize=256)(
            functools.partial(account_hash, settings.account_hash_key)
        )

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
        detail = dict(denial.metadata) if denial else {}
        detail.update(fields.pop("detail", {}))
        account_id = fields.pop("account_id", "")
        step = fields.pop("gate_step", 12)
        return AuditDraft(
            method=call.method,
            request_id=call.request_id,
            principal=call.principal,
            outcome=outcome,
            status_code=denial.code if denial else "OK",
            reason=denial.reason if denial else "",
            gate_step=denial.step if denial else step,
            account_id_hash=self.account_hash(account_id),
            risk_policy_id=self.policy.policy_id,
            detail={k: str(v) for k, v in detail.items()},
            **fields,
        )

    def refuse(self, call: m.Call, denial: m.Denial, **fields: Any) -> m.Denial:
        """Audit a refusal (its only write) and hand it back for the servicer to send."""
        fields.setdefault("kill_switch_state", self._switch_state_label())
        try:
            self.store.append_audit(
                self.draft(call, "REFUSED", denial, **fields), self.clock.now_us()
            )
        except StoreUnavailable:
            log.error("could not audit a refusal", extra={"reason": denial.reason})
        log.info(
            "refused",
            extra={"method": call.method, "reason": denial.reason, "step": denial.step},
        )
        return denial

    def _switch_state_label(self) -> str:
        try:
            return self.store.kill_switch().state.value
        except StoreUnavailable:
            return ""

    # ---- the pipeline ----------------------------------------------------------------------

    def execute(self, call: m.Call, cmd: Command) -> Outcome | m.Denial:
        now = self.clock.now_us()
        ids = _audit_ids(cmd)

        def refuse(denial: m.Denial) -> m.Denial:
            return self.refuse(call, denial, **ids)

        scope = scope_denial(call, SCOPES[type(cmd)])
        if scope is not None:
            return refuse(scope)
        if self._enablement is not None:
            return refuse(self._enablement)
        checklist = self.checklist.denial(now)
        if checklist is not None:
            return refuse(checklist)
        acct = account_denial(self.settings, cmd.account_id, self.account_hash(cmd.account_id))
        if acct is not None:
            return refuse(acct)
        # One pinned connection serves the decision's reads (steps 6-9), and where the store
        # reads and writes through one pool (PostgreSQL) its two transactions too.
        with self.store.reading():
            checked = self._check(call, cmd, ids, now)
            if not isinstance(checked, tuple):
                return checked
            plan, digest = checked
            return self._run(call, cmd, plan, digest, ids, now)

    def _check(
        self, call: m.Call, cmd: Command, ids: dict[str, Any], now: int
    ) -> tuple[Plan, str] | Outcome | m.Denial:
        """Steps 6-9: the plan and request digest to run, or the answer to give now."""

        def refuse(denial: m.Denial) -> m.Denial:
            return self.refuse(call, denial, **ids)

        try:
            switch = self.store.kill_switch()
        except StoreUnavailable:
            return refuse(audit_down())
        if switch.state is not m.SwitchState.OPEN:
            return refuse(closed(switch))
        if not self.store.audit_available():
            return refuse(audit_down())
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

        def usage_check(usage: limits.Usage) -> m.Denial | None:
            return (
                self.depth.stopped(call, usage)
                or limits.check_usage(
                    self.policy, usage, plan.new_orders, plan.notional, counts_as_open
                )
                or self.depth.usage_denial(pending.messages, plan, usage, state, now)
            )

        draft = self.draft(call, "PENDING", None, gate_step=10, kill_switch_state="OPEN", **ids)
        try:
            begun = self.store.begin(pending, usage_check, draft, now, query)
        except StoreUnavailable:
            log.exception("pending transaction failed")
            return self.refuse(call, audit_down(), **ids)
        if begun.denial is not None:
            return self.refuse(call, begun.denial, **ids)
        if begun.existing is not None:
            return self._existing(call, cmd, begun.existing, digest, ids)
        return self.forward(call, cmd, plan, ids)

    def forward(
        self, call: m.Call, cmd: Command, plan: Plan, ids: dict[str, Any]
    ) -> Outcome | m.Denial:
        """Steps 11 and 12: call the writer once, then record what it said."""
        try:
            orders = plan.send(call.request_id)
        except WriterError as err:
            return self.writer_failed(call, cmd, err, ids)
        opened = [o.broker_order_id for o in orders] if plan.new_orders else []
        closed = [cmd.broker_order_id] if isinstance(cmd, CancelCmd) else []
        return self.record_success(call, cmd, orders, opened, closed, ids, replayed=False)

    def record_success(
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
        draft = self.draft(
            call,
            "EXECUTED",
            None,
            kill_switch_state="OPEN",
            **{**ids, "broker_order_id": orders[0].broker_order_id if orders else 0},
        )
        try:
            event_id = self.store.finish(
                cmd.key, "SUCCEEDED", outcome, opened, closed, draft, self.clock.now_us()
            )
        except StoreUnavailable:
            log.critical("writer executed but the outcome was not recorded", extra=ids)
            return m.Denial(
                reasons.OUTCOME_NOT_RECORDED,
                "UNAVAILABLE",
                12,
                "the writer answered but the outcome could not be stored; retry the same key",
            )
        return Outcome(tuple(orders), replayed, event_id)

    def writer_failed(
        self, call: m.Call, cmd: Command, err: WriterError, ids: dict[str, Any]
    ) -> m.Denial:
        now = self.clock.now_us()
        # NOT_FOUND is as definite as a refusal: the writer found no such order (or
        # instrument) and sent nothing to the broker, so the key closes instead of hanging.
        if err.kind in ("REFUSED", "NOT_FOUND"):
            denial = m.Denial(
                err.reason or reasons.WRITER_REFUSED,
                err.code,
                11,
                f"the writer refused: {err.message}",
                {"writer_reason": err.reason, "writer_code": err.code},
            )
            outcome = {"denial": to_dict(denial)}
            draft = self.draft(call, "REFUSED", denial, kill_switch_state="OPEN", **ids)
            try:
                self.store.finish(cmd.key, "REFUSED", outcome, [], [], draft, now)
            except StoreUnavailable:
                log.critical("writer refusal not recorded", extra=ids)
            return denial
        reason = (
            reasons.WRITER_UNAVAILABLE
            if err.kind == "UNAVAILABLE"
            else reasons.WRITER_OUTCOME_UNKNOWN
        )
        denial = m.Denial(
            reason,
            "UNAVAILABLE",
            11,
            f"writer call failed ({err.code}): {err.message}; retry the same key to settle it",
            {"grpc_code": err.code, "writer_reason": err.reason},
        )
        # The call may have reached the broker: keep the key pending so a retry asks the
        # writer (by orderRef) instead of placing a second order.
        try:
            self.store.mark_unknown(
                cmd.key, self.draft(call, "FAILED", denial, kill_switch_state="OPEN", **ids), now
            )
        except StoreUnavailable:
            log.critical("could not mark the outcome unknown", extra=ids)
        return denial

    def _existing(
        self,
        call: m.Call,
        cmd: Command,
        record: IdemRecord,
        digest: str,
        ids: dict[str, Any],
    ) -> Outcome | m.Denial:
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
        if record.status == "REFUSED" and record.outcome is not None:
            return from_dict(record.outcome["denial"])
        return self._settler.settle(call, cmd, record, ids)

    # ---- step 8 per command ----------------------------------------------------------------

    def replan(self, cmd: Command, now: int) -> Plan | m.Denial:
        """Step 8 again for a settled key, whose approvals this very key has reserved."""
        return self._planner.plan(cmd, now, own_key=cmd.key)


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
