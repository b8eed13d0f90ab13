"""The kill switch: durable with history; a close closes this replica and the writer first."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.close_latch import CloseLatch, PendingClose
from policy_service.domain.close_record import cancel_detail, pending_detail
from policy_service.domain.denials import scope_denial
from policy_service.domain.enablement import Condition, static_conditions
from policy_service.domain.gate import Gate
from policy_service.domain.ports import StoreUnavailable, WriterError
from policy_service.domain.reopen import (
    AuditCheck,
    OpenClaim,
    SwitchMoved,
    not_requested,
    switch_changed,
)
from policy_service.domain.reopen_flow import SCOPE, GuardedOpen, SetResult
from policy_service.domain.unaudited import unaudited
from policy_service.domain.writer_switch import (
    WriterSwitch,
    WriterSwitchState,
    audit_detail,
    confirmed,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CancelMode:
    all: bool
    broker_wide: bool  # IB's global cancel instead of livegate's orders by orderRef


@dataclass(frozen=True)
class LiveStatus:
    live_enabled: bool
    conditions: list[Condition]
    switch: m.KillSwitch | None


class KillSwitchService(GuardedOpen):
    def __init__(self, gate: Gate):
        self._gate = gate
        self._latch: CloseLatch = gate.latch
        # A close is stored by its own call or by the heartbeat's retry, never by both.
        self._storing = threading.Lock()
        # The heartbeat sends nothing while a set runs, nor a state read before one: a stale
        # CLOSED would outlive the OPEN after it at the writer (a CLOSED always applies there).
        self._sets = threading.Lock()
        self._running = 0
        self._generation = 0
        # This replica's last close is not confirmed by the writer: the heartbeat sends it as
        # a close of its own (not a resend, which the writer may take for stale) until it is.
        self._close_unconfirmed = False
        # A full VerifyAudit; set once the audit watch exists (built after this service).
        # Until then no reopen passes: the answer is no when the audit cannot be verified.
        self.audit_check: AuditCheck | None = None

    def get(self, call: m.Call) -> m.KillSwitch | m.Denial:
        denial = scope_denial(call, SCOPE)
        if denial is not None:
            return self._gate.refuse(call, denial)
        return self._latch.view() or self._gate.store.kill_switch()

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
        switch = self._latch.view()
        if switch is None:
            try:
                switch = gate.store.kill_switch()
            except StoreUnavailable:
                switch = None
        return conds, switch

    def live_status(self) -> LiveStatus:
        """The kill_switch condition passes only when OPEN: REDUCING fails it (and so
        live_enabled), its detail saying that cancels and position-reducing orders pass."""
        conds, switch = self.conditions()
        is_open = switch is not None and switch.state is m.SwitchState.OPEN
        detail = f"state={switch.state.value} version={switch.version}" if switch else "unreadable"
        if switch is not None and switch.state is m.SwitchState.REDUCING:
            detail += (
                " (reduce-only: cancels pass; submits and modifies only where the writer "
                "judges they reduce the position without crossing zero; brackets refused)"
            )
        if self._latch.view() is not None:
            detail += " (closed in this replica; the close is not stored yet)"
        conds.append(Condition("kill_switch", is_open, detail))
        return LiveStatus(all(c.passed for c in conds), conds, switch)

    def set(
        self,
        call: m.Call,
        state: m.SwitchState,
        reason: str,
        cancel_all: bool,
        refused_text: m.Denial | None = None,
        broker_wide: bool = False,
        evidence: dict[str, str] | None = None,
    ) -> SetResult | m.Denial:
        """REFUSED_TEXT: the step-2 refusal a close's text earned; the close goes ahead with
        the text made storable, and answers KILL_SWITCH_CLOSED_TEXT_REFUSED once done.
        EVIDENCE: what tripped an automatic stop, recorded in the close's event."""
        denial = scope_denial(call, SCOPE)
        if denial is not None:
            return self._gate.refuse(call, denial)
        if state is m.SwitchState.CLOSED:
            # Writes wait at their checkpoints until the close is done (after the scope
            # check: a caller who may not close may not hold writes up either).
            with self._gate.close_first.closing(), self._setting():
                mode = CancelMode(cancel_all, broker_wide)
                return self._close(call, reason, mode, refused_text, evidence or {})
        with self._setting():
            if state is m.SwitchState.REDUCING:
                try:
                    current = self._latch.view() or self._gate.store.kill_switch()
                except StoreUnavailable:
                    return self._not_stored(call, "storage unavailable")
                if current.state is not m.SwitchState.CLOSED:
                    return self._reduce(call, reason, current)
            # OPEN, and REDUCING from CLOSED: loosenings, the guarded reopen.
            return self._open(call, reason, state)

    @contextmanager
    def _setting(self) -> Iterator[None]:
        """A set runs: the heartbeat holds back until it is done (see __init__)."""
        with self._sets:
            self._running += 1
            self._generation += 1
        try:
            yield
        finally:
            with self._sets:
                self._running -= 1
                self._generation += 1

    # ---- close -----------------------------------------------------------------------------

    def _close(
        self,
        call: m.Call,
        reason: str,
        cancel: CancelMode,
        refused_text: m.Denial | None,
        evidence: dict[str, str],
    ) -> SetResult | m.Denial:
        """Close here (memory), then the writer, then store it: no step waits for the next."""
        pending = PendingClose(call, reason, self._gate.clock.now_us())
        self._latch.hold(pending)  # gate step 6 refuses from here on
        answer, error = self._sync(call.request_id, m.SwitchState.CLOSED, reason, self._version())
        writer_state = confirmed(m.SwitchState.CLOSED, answer)
        self._close_unconfirmed = writer_state is not WriterSwitchState.CONFIRMED_CLOSED
        in_flight = answer.in_flight if answer else ()
        states = {"replica_state": "CLOSED", "writer_state": writer_state.value}
        pending.detail.update({"reason": reason, **audit_detail(writer_state, answer, error)})
        pending.detail.update(evidence)
        # Read once the writer is closed (a close is not held up by the store): writes are
        # refused from the latch on, so the set only shrinks by writes that were answered.
        pending.detail.update(pending_detail(self._gate.store))
        if refused_text is not None:
            pending.detail.update({"text_refused": refused_text.reason, **refused_text.metadata})
            # The close's own event records what the caller is told, as a refusal's would.
            pending.denial = _text_refused(refused_text, states, {})
        stored = self._store(pending)
        held = stored[0] if stored else self._latch.view()
        cancelled = (
            self._cancel_all(call, reason, held, cancel.broker_wide) if cancel.all and held else 0
        )
        if stored is None:
            pending.denial = _not_stored(states, len(in_flight))
            unaudited(
                call,
                "kill-switch close (this replica stays closed; the store is retried)",
                reasons.KILL_SWITCH_CLOSE_NOT_STORED,
                **states,
            )
            return pending.denial
        switch, event_id = stored
        if refused_text is not None:
            stored_as = {"version": str(switch.version), "audit_event_id": str(event_id)}
            return _text_refused(refused_text, states, stored_as)
        return SetResult(switch, writer_state, in_flight, cancelled, event_id)

    def _version(self) -> int:
        """The version a close sends the writer: one past the newest this replica knows.

        Past it, so that an OPEN another replica stored and sent just before this close
        cannot reopen the writer after it; a CLOSED applies there whatever its version.
        """
        try:
            self._latch.saw_version(self._gate.store.kill_switch().version)
        except StoreUnavailable:
            pass
        return self._latch.version + 1

    def _store(self, pending: PendingClose) -> tuple[m.KillSwitch, int] | None:
        """Store a held close and release it; None (still held) when the store fails."""
        gate = self._gate
        with self._storing:
            if pending not in self._latch.pending():
                return None  # stored meanwhile by the heartbeat's retry
            draft = gate.draft(
                pending.call, "RECORDED", pending.denial, gate_step=0, detail=pending.detail
            )
            try:
                switch, event_id = gate.store.set_kill_switch(
                    m.SwitchState.CLOSED,
                    pending.reason,
                    pending.call.principal,
                    pending.call.request_id,
                    draft,
                    gate.clock.now_us(),
                )
            except StoreUnavailable:
                pending.failed = True
                return None
            self._latch.saw_version(switch.version)
            self._latch.release(pending)
        return switch, event_id

    def _flush(self) -> bool:
        """Retry every held close whose store failed; False while one still cannot be stored."""
        for pending in self._latch.failed():
            pending.detail["stored_late"] = "true"
            if self._store(pending) is None and pending in self._latch.pending():
                return False
        return True

    # ---- reduce ----------------------------------------------------------------------------

    def _reduce(self, call: m.Call, reason: str, current: m.KillSwitch) -> SetResult | m.Denial:
        """OPEN -> REDUCING, a tightening: the writer first (it enforces REDUCING), then the
        store, which revokes every outstanding approval in the same transaction, as a close.
        A store that fails leaves the writer REDUCING (no stale OPEN loosens it there) and the
        caller told so; the heartbeat's resend of the stored OPEN does not undo it."""
        gate = self._gate
        answer, error = self._sync(call.request_id, m.SwitchState.REDUCING, reason, self._version())
        writer_state = confirmed(m.SwitchState.REDUCING, answer)
        in_flight = answer.in_flight if answer else ()
        detail = {"reason": reason, **audit_detail(writer_state, answer, error)}
        draft = gate.draft(call, "RECORDED", None, gate_step=0, detail=detail)
        try:
            switch, event_id = gate.store.set_kill_switch(
                m.SwitchState.REDUCING, reason, call.principal, call.request_id, draft,
                gate.clock.now_us(), claim=OpenClaim(current.version, current.state),
            )  # fmt: skip
        except SwitchMoved:
            return gate.refuse(call, switch_changed(current))
        except StoreUnavailable:
            return self._not_stored(call, "storage unavailable (the writer is REDUCING)")
        self._latch.saw_version(switch.version)
        log.warning("kill switch set REDUCING", extra={"version": switch.version})
        return SetResult(switch, writer_state, in_flight, 0, event_id)

    # ---- open ------------------------------------------------------------------------------

    def _commit_open(
        self,
        call: m.Call,
        reason: str,
        claim: OpenClaim | None,
        detail: dict[str, str],
        target: m.SwitchState = m.SwitchState.OPEN,
    ) -> SetResult | m.Denial:
        """Store TARGET (OPEN, or REDUCING from CLOSED) if CLAIM still holds, then sync the
        writer to it."""
        gate = self._gate
        draft = gate.draft(call, "RECORDED", None, gate_step=0, detail={"reason": reason, **detail})
        try:
            switch, event_id = gate.store.set_kill_switch(
                target, reason, call.principal, call.request_id, draft,
                gate.clock.now_us(), claim=claim,
            )  # fmt: skip
        except SwitchMoved:
            reopen_id = claim.reopen_id if claim else ""
            return gate.refuse(call, not_requested(reopen_id, "SWITCH_CHANGED"))
        except StoreUnavailable:
            return self._not_stored(call, "storage unavailable")
        self._latch.saw_version(switch.version)
        self._close_unconfirmed = False
        answer, error = self._sync(call.request_id, target, reason, switch.version)
        writer_state = confirmed(target, answer)
        if writer_state is WriterSwitchState.NOT_CONFIRMED:
            self._audit_note(
                call, "KillSwitchWriterSync", "FAILED", reasons.WRITER_UNAVAILABLE, switch,
                audit_detail(writer_state, answer, error),
            )  # fmt: skip
        return SetResult(switch, writer_state, (), 0, event_id)

    def _not_stored(self, call: m.Call, why: str) -> m.Denial:
        unaudited(call, f"kill-switch open refused: {why}", reasons.AUDIT_UNAVAILABLE)
        return m.Denial(reasons.AUDIT_UNAVAILABLE, "UNAVAILABLE", 7, why)

    # ---- the writer ------------------------------------------------------------------------

    def _sync(
        self,
        request_id: str,
        state: m.SwitchState,
        reason: str,
        version: int,
        resend: bool = False,
    ) -> tuple[WriterSwitch | None, str]:
        """The writer's answer, or None and why there was none."""
        writer = self._gate.writer
        try:
            return writer.set_kill_switch(request_id, state, reason, version, resend), ""
        except WriterError as err:
            log.error("writer kill switch not synced", extra={"error": str(err)})
            return None, f"{err.code} {err.reason}: {err.message}"

    def _cancel_all(
        self, call: m.Call, reason: str, switch: m.KillSwitch, broker_wide: bool
    ) -> int:
        try:
            result = self._gate.writer.cancel_all(call.request_id, reason, broker_wide)
        except WriterError as err:
            log.error("cancel-all failed", extra={"error": str(err)})
            self._audit_note(
                call,
                "CancelAllOrders",
                "FAILED",
                reasons.WRITER_UNAVAILABLE,
                switch,
                {"broker_wide": str(broker_wide).lower()},
            )
            return 0
        detail = cancel_detail(result, self._gate.account_hash)
        self._audit_note(call, "CancelAllOrders", "EXECUTED", "", switch, detail)
        return len(result.cancelled)

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
        noted = m.Call(method, call.request_id, call.principal, call.scopes)
        draft = gate.draft(
            noted,
            outcome,
            denial,
            gate_step=0,
            kill_switch_state=switch.state.value,
            detail={"version": str(switch.version), **(detail or {})},
        )
        try:
            gate.store.append_audit(draft, gate.clock.now_us())
        except StoreUnavailable:
            unaudited(noted, f"{method} {outcome}", reason or outcome)

    def sync_writer(self) -> bool:
        """The heartbeat: store held closes, then re-send the state (the writer closes itself
        when it hears nothing). True when the writer answered with that state.

        A stored state goes as a resend, which the writer ignores for a CLOSED older than its
        own version (read here before another replica's OPEN); a close this replica holds
        unstored, or whose own sync the writer did not confirm, goes as a close.
        """
        with self._sets:
            if self._running:
                return False
            generation = self._generation
        self._flush()
        held = self._latch.view()
        if held is not None:
            answer, _ = self._sync("sync", m.SwitchState.CLOSED, held.reason, held.version)
            return self._closed_by(answer)
        try:
            switch = self._gate.store.kill_switch()
        except StoreUnavailable:
            log.error("kill switch unreadable; writer not synced")
            return False
        self._latch.saw_version(switch.version)
        with self._sets:
            if self._running or generation != self._generation:
                return False  # a set ran meanwhile and synced the writer itself
        closing = switch.state is m.SwitchState.CLOSED and self._close_unconfirmed
        answer, _ = self._sync(
            "sync", switch.state, switch.reason, switch.version, resend=not closing
        )
        if closing:
            return self._closed_by(answer)
        return confirmed(switch.state, answer) is not WriterSwitchState.NOT_CONFIRMED

    def _closed_by(self, answer: WriterSwitch | None) -> bool:
        """Whether ANSWER confirms a close; once it does, the heartbeat resends again."""
        closed = confirmed(m.SwitchState.CLOSED, answer) is WriterSwitchState.CONFIRMED_CLOSED
        if closed:
            self._close_unconfirmed = False
        return closed


def _not_stored(states: dict[str, str], in_flight: int) -> m.Denial:
    return m.Denial(
        reasons.KILL_SWITCH_CLOSE_NOT_STORED,
        "UNAVAILABLE",
        6,
        "closed in this replica and sent to the writer, but the close could not be stored; "
        "this replica stays closed and retries storing it",
        {**states, "writer_in_flight": str(in_flight), "stored": "false"},
    )


def _text_refused(refused: m.Denial, states: dict[str, str], stored_as: dict[str, str]) -> m.Denial:
    return m.Denial(
        reasons.KILL_SWITCH_CLOSED_TEXT_REFUSED,
        "INVALID_ARGUMENT",
        2,
        f"closed, but the text was refused ({refused.message}); the close was stored with it "
        "made storable",
        {
            **refused.metadata,
            **states,
            "text_reason": refused.reason,
            "stored": "true",
            **stored_as,
        },
    )
