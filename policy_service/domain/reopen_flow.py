"""The guarded open, mixed into KillSwitchService: checks, the pending request, its confirmation."""

from __future__ import annotations

import logging
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass

from policy_service.domain import model as m
from policy_service.domain.denials import scope_denial
from policy_service.domain.enablement import Condition
from policy_service.domain.gate import Gate
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.reopen import (
    AuditCheck,
    OpenClaim,
    ReopenRequest,
    SwitchMoved,
    audit_unverified,
    confirm_denial,
    not_ready,
    not_requested,
    request_denial,
)
from policy_service.domain.writer_switch import InFlightWrite, WriterSwitchState

log = logging.getLogger(__name__)
SCOPE = "killswitch.operate"


@dataclass(frozen=True)
class SetResult:
    switch: m.KillSwitch
    writer_state: WriterSwitchState
    writer_in_flight: tuple[InFlightWrite, ...]
    cancelled_orders: int
    audit_event_id: int
    # Set when the open was only requested: the switch stays closed until another confirms.
    pending: ReopenRequest | None = None

    @property
    def writer_synced(self) -> bool:
        return self.writer_state is not WriterSwitchState.NOT_CONFIRMED


class GuardedOpen:
    """An open needs every live-status condition and a full VerifyAudit, at the request and
    again at the confirmation; where a second operator is required, SetKillSwitch OPEN only
    records a pending reopen, which another operator confirms (ConfirmReopen) in its window.
    Every loosening is such a reopen: OPEN from CLOSED or REDUCING, REDUCING from CLOSED; the
    request records its target, which the confirmation applies.

    KillSwitchService provides the store-and-sync of an open, the held closes and the
    heartbeat's bookkeeping."""

    _gate: Gate
    audit_check: AuditCheck | None

    def conditions(self) -> tuple[list[Condition], m.KillSwitch | None]:
        raise NotImplementedError

    def _setting(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _flush(self) -> bool:
        raise NotImplementedError

    def _not_stored(self, call: m.Call, why: str) -> m.Denial:
        raise NotImplementedError

    def _commit_open(
        self,
        call: m.Call,
        reason: str,
        claim: OpenClaim | None,
        detail: dict[str, str],
        target: m.SwitchState = m.SwitchState.OPEN,
    ) -> SetResult | m.Denial:
        raise NotImplementedError

    def confirm(self, call: m.Call, reopen_id: str, reason: str) -> SetResult | m.Denial:
        """A second operator confirms a pending reopen; the checks run again, then it opens."""
        denial = scope_denial(call, SCOPE)
        if denial is not None:
            return self._gate.refuse(call, denial)
        with self._setting():
            return self._confirm(call, reopen_id, reason)

    def pending_reopen(self, switch: m.KillSwitch) -> ReopenRequest | None:
        """The reopen still waiting for its second operator at SWITCH, if any."""
        try:
            pending = self._gate.store.pending_reopen()
        except StoreUnavailable:
            return None
        now = self._gate.clock.now_us()
        return pending if pending and pending.live(now, switch.version) else None

    def _open(
        self, call: m.Call, reason: str, target: m.SwitchState = m.SwitchState.OPEN
    ) -> SetResult | m.Denial:
        """Loosen the switch to TARGET (OPEN, or REDUCING from CLOSED), or store it again."""
        gate = self._gate
        denial = self._ready(call)
        if denial is not None:
            return gate.refuse(call, denial)
        # A close held in memory is stored before anything opens: never lose a close.
        if not self._flush():
            return self._not_stored(call, "an unstored close is held; the open waits for it")
        if not gate.settings.reopen_second_operator:
            return self._commit_open(call, reason, None, {}, target)
        try:
            current = gate.store.kill_switch()
        except StoreUnavailable:
            return self._not_stored(call, "storage unavailable")
        if looser(target, current.state):
            return self._request(call, reason, current, target)
        # In TARGET already: stored again only if nothing tightened it meanwhile.
        claim = OpenClaim(current.version, current.state)
        return self._commit_open(call, reason, claim, {}, target)

    def _ready(self, call: m.Call) -> m.Denial | None:
        """Every live-status condition, then a full VerifyAudit: what any open needs now."""
        failed = [c for c in self.conditions()[0] if not c.passed]
        if failed:
            return not_ready(failed)
        if self.audit_check is None:
            return audit_unverified({"audit_problem": "NO_VERIFIER"})
        passed, found = self.audit_check()
        return None if passed else audit_unverified(found)

    def _request(
        self, call: m.Call, reason: str, current: m.KillSwitch, target: m.SwitchState
    ) -> SetResult | m.Denial:
        """Record a pending reopen to TARGET for a second operator to confirm; the switch stays
        as it is meanwhile."""
        gate = self._gate
        now = gate.clock.now_us()
        try:
            pending = gate.store.pending_reopen()
        except StoreUnavailable:
            return self._not_stored(call, "storage unavailable")
        if pending is not None and pending.live(now, current.version):
            return gate.refuse(call, request_denial(call, pending))
        req = ReopenRequest(
            uuid.uuid4().hex, call.principal, reason, call.request_id, now,
            now + gate.settings.reopen_window_us, current.version, target=target,
        )  # fmt: skip
        detail = {"reason": reason, "reopen": "REQUESTED", **req.audit_detail()}
        draft = gate.draft(
            call, "RECORDED", None, gate_step=0, kill_switch_state=current.state.value,
            detail=detail,
        )  # fmt: skip
        try:
            event_id = gate.store.request_reopen(req, draft, now, from_state=current.state)
        except SwitchMoved:
            return gate.refuse(call, not_requested(req.reopen_id, "SWITCH_CHANGED"))
        except StoreUnavailable:
            return self._not_stored(call, "storage unavailable")
        log.warning("kill switch reopen requested", extra={"reopen_id": req.reopen_id})
        return SetResult(current, WriterSwitchState.NOT_CONFIRMED, (), 0, event_id, req)

    def _confirm(self, call: m.Call, reopen_id: str, reason: str) -> SetResult | m.Denial:
        gate = self._gate
        try:
            current, pending = gate.store.kill_switch(), gate.store.reopen(reopen_id)
        except StoreUnavailable:
            return self._not_stored(call, "storage unavailable")
        now = gate.clock.now_us()
        denial = confirm_denial(call, reopen_id, pending, now, current.version)
        denial = denial or self._ready(call)
        if denial is not None:
            return gate.refuse(call, denial)
        assert pending is not None  # confirm_denial refuses a missing one
        if not self._flush():
            return self._not_stored(call, "an unstored close is held; the open waits for it")
        # confirm_denial checked the switch is at the request's version: in the state it was.
        claim = OpenClaim(current.version, current.state, reopen_id, call.principal)
        return self._commit_open(
            call, reason, claim, {"reopen": "CONFIRMED", **pending.audit_detail()}, pending.target
        )


# From the loosest: a move to a looser state is a reopen (guarded), to a tighter one immediate.
_TIGHTNESS = {m.SwitchState.OPEN: 0, m.SwitchState.REDUCING: 1, m.SwitchState.CLOSED: 2}


def looser(target: m.SwitchState, current: m.SwitchState) -> bool:
    """Moving from CURRENT to TARGET loosens the switch."""
    return _TIGHTNESS[target] < _TIGHTNESS[current]
