"""The kill switch: durable state with history; closing closes the writer's before returning."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.denials import scope_denial
from policy_service.domain.enablement import Condition, static_conditions
from policy_service.domain.gate import Gate
from policy_service.domain.ports import StoreUnavailable, WriterError

log = logging.getLogger(__name__)
SCOPE = "killswitch.operate"


@dataclass(frozen=True)
class SetResult:
    switch: m.KillSwitch
    writer_synced: bool
    cancelled_orders: int
    audit_event_id: int


@dataclass(frozen=True)
class LiveStatus:
    live_enabled: bool
    conditions: list[Condition]
    switch: m.KillSwitch | None


class KillSwitchService:
    def __init__(self, gate: Gate):
        self._gate = gate

    def get(self, call: m.Call) -> m.KillSwitch | m.Denial:
        denial = scope_denial(call, SCOPE)
        if denial is not None:
            return self._gate.refuse(call, denial)
        return self._gate.store.kill_switch()

    def conditions(self) -> tuple[list[Condition], m.KillSwitch | None]:
        """Everything that must hold for live trading, except the switch's own state."""
        gate = self._gate
        conds = static_conditions(gate.settings, gate.policy)
        conds.append(gate.checklist.condition())
        audit_ok = gate.store.audit_available()
        conds.append(
            Condition(
                "audit.available",
                audit_ok,
                "audit store reachable" if audit_ok else "audit store unreachable",
            )
        )
        try:
            ok, detail = gate.writer.permission_ok()
        except WriterError as err:
            ok, detail = False, f"writer unreachable ({err.code} {err.reason}: {err.message})"
        conds.append(Condition("writer.permission", ok, detail))
        try:
            switch: m.KillSwitch | None = gate.store.kill_switch()
        except StoreUnavailable:
            switch = None
        return conds, switch

    def live_status(self) -> LiveStatus:
        conds, switch = self.conditions()
        is_open = switch is not None and switch.state is m.SwitchState.OPEN
        detail = f"state={switch.state.value} version={switch.version}" if switch else "unreadable"
        conds.append(Condition("kill_switch", is_open, detail))
        return LiveStatus(all(c.passed for c in conds), conds, switch)

    def set(
        self, call: m.Call, state: m.SwitchState, reason: str, cancel_all: bool
    ) -> SetResult | m.Denial:
        gate = self._gate
        denial = scope_denial(call, SCOPE)
        if denial is not None:
            return gate.refuse(call, denial)
        if state is m.SwitchState.OPEN:
            failed = [c for c in self.conditions()[0] if not c.passed]
            if failed:
                return gate.refuse(
                    call,
                    m.Denial(
                        reasons.KILL_SWITCH_OPEN_REFUSED,
                        "FAILED_PRECONDITION",
                        4,
                        "live trading conditions do not hold: "
                        + "; ".join(f"{c.name}: {c.detail}" for c in failed),
                        {"failed": ",".join(c.name for c in failed)},
                    ),
                )
        now = gate.clock.now_us()
        draft = gate.draft(call, "RECORDED", None, gate_step=0, detail={"reason": reason})
        try:
            switch, event_id = gate.store.set_kill_switch(
                state, reason, call.principal, call.request_id, draft, now
            )
        except StoreUnavailable:
            return m.Denial(reasons.AUDIT_UNAVAILABLE, "UNAVAILABLE", 7, "storage unavailable")
        synced = self._sync(call.request_id, switch)
        if not synced:
            self._audit_note(
                call, "KillSwitchWriterSync", "FAILED", reasons.WRITER_UNAVAILABLE, switch
            )
        cancelled = 0
        if cancel_all and state is m.SwitchState.CLOSED:
            cancelled = self._cancel_all(call, reason, switch)
        return SetResult(switch, synced, cancelled, event_id)

    def _sync(self, request_id: str, switch: m.KillSwitch) -> bool:
        try:
            self._gate.writer.set_kill_switch(
                request_id, switch.state, switch.reason, switch.version
            )
            return True
        except WriterError as err:
            log.error("writer kill switch not synced", extra={"error": str(err)})
            return False

    def _cancel_all(self, call: m.Call, reason: str, switch: m.KillSwitch) -> int:
        try:
            count = self._gate.writer.cancel_all(call.request_id, reason)
        except WriterError as err:
            log.error("cancel-all failed", extra={"error": str(err)})
            self._audit_note(call, "CancelAllOrders", "FAILED", reasons.WRITER_UNAVAILABLE, switch)
            return 0
        self._audit_note(call, "CancelAllOrders", "EXECUTED", "", switch, {"cancelled": str(count)})
        return count

    def _audit_note(
        self,
        call: m.Call,
        method: str,
        outcome: str,
        reason: str,
        switch: m.KillSwitch,
        detail: dict[str, str] | None = None,
    ) -> None:
        gate = self._gate
        denial = m.Denial(reason, "UNAVAILABLE", 0, "") if reason else None
        draft = gate.draft(
            m.Call(method, call.request_id, call.principal, call.scopes),
            outcome,
            denial,
            gate_step=0,
            kill_switch_state=switch.state.value,
            detail={"version": str(switch.version), **(detail or {})},
        )
        try:
            gate.store.append_audit(draft, gate.clock.now_us())
        except StoreUnavailable:
            log.error("could not audit", extra={"method": method})

    def sync_writer(self) -> bool:
        """Re-send the current state: the writer closes itself when it hears nothing."""
        try:
            switch = self._gate.store.kill_switch()
        except StoreUnavailable:
            log.error("kill switch unreadable; writer not synced")
            return False
        return self._sync("sync", switch)
