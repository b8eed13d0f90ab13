"""SetScopedStop: close, reduce or open one scope, audited.

A scope is OPEN, REDUCING or CLOSED. Tightening is immediate: OPEN -> REDUCING, anything ->
CLOSED; each revokes the scope's approvals outstanding (an approval granted before may be for
an order the tighter state refuses). Loosening (CLOSED -> REDUCING, CLOSED or REDUCING -> OPEN)
is guarded as the kill switch's reopen is: VerifyAudit must pass at that moment, and where
kill_switch.reopen_second_operator is set, the first request only records itself (the scope
stays as it is) with the state it asks, which another operator confirms by asking the same
state within kill_switch.reopen_confirm_window_s. The request lives in the scope's row, so the
confirmation may reach another replica.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.denials import audit_down, scope_denial
from policy_service.domain.gate import Gate
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.reopen import AuditCheck, audit_unverified
from policy_service.domain.scopes import (
    Revocation,
    ScopedStop,
    ScopeKind,
    ScopeMoved,
    Subject,
    stopped_denial,
)

log = logging.getLogger(__name__)
SCOPE: Final = "killswitch.operate"
# A close races only other operators' changes of the same row: a few tries always land it.
_CLOSE_TRIES: Final = 5


@dataclass(frozen=True)
class ScopeResult:
    stop: ScopedStop
    audit_event_id: int
    revoked_approvals: int = 0


class ScopedStops:
    def __init__(self, gate: Gate, principals: Iterable[str]):
        self._gate = gate
        self._principals = frozenset(principals)
        # A full VerifyAudit, as the kill switch's reopen uses; None until the watch exists.
        self.audit_check: AuditCheck | None = None

    def listed(self) -> list[ScopedStop]:
        """Every scope ever stopped (closed or reopened); [] when the store cannot say."""
        try:
            return self._gate.store.scoped_stops()
        except StoreUnavailable:
            return []

    def set(
        self,
        call: m.Call,
        kind: ScopeKind,
        value: str,
        state: m.SwitchState,
        reason: str,
        evidence: Mapping[str, str] | None = None,
    ) -> ScopeResult | m.Denial:
        """EVIDENCE: what an automatic stop's close adds to its audit event (its trigger)."""
        gate = self._gate
        denial = scope_denial(call, SCOPE)
        subject = denial or self._subject(kind, value)
        if isinstance(subject, m.Denial):
            return gate.refuse(call, subject, **_ids(kind, value))
        try:
            if state is not m.SwitchState.OPEN:
                tightened = self._close(call, subject, value, reason, state, evidence or {})
                if tightened is not None:
                    return tightened
            # OPEN, or REDUCING asked of a CLOSED scope: a loosening.
            return self._open(call, subject, value, reason, state)
        except StoreUnavailable:
            log.exception("scoped stop not stored")
            return gate.refuse(call, audit_down(), **_ids(kind, value))

    def _subject(self, kind: ScopeKind, value: str) -> Subject | m.Denial:
        """The row key of VALUE: an allowed account's hash, a configured principal, a tag."""
        gate = self._gate
        if kind is ScopeKind.ACCOUNT:
            if value not in gate.settings.allowed_accounts:
                return _not_found(reasons.SCOPE_ACCOUNT_NOT_ALLOWED, kind,
                                  "account_id_hash", gate.account_hash(value))  # fmt: skip
            return Subject(kind, gate.account_hash(value))
        if kind is ScopeKind.PRINCIPAL and value not in self._principals:
            return _not_found(reasons.SCOPE_PRINCIPAL_UNKNOWN, kind, "principal", value)
        return Subject(kind, value)

    # ---- close, or reduce from OPEN -------------------------------------------------------

    def _close(
        self,
        call: m.Call,
        subject: Subject,
        value: str,
        reason: str,
        state: m.SwitchState,
        evidence: Mapping[str, str],
    ) -> ScopeResult | m.Denial | None:
        """Store STATE (CLOSED, or REDUCING of a scope not CLOSED) at once, revoking the
        scope's approvals; None when REDUCING was asked of a CLOSED scope (a loosening)."""
        gate = self._gate
        revoke = _revocation(subject.kind, value)
        for _ in range(_CLOSE_TRIES):
            now = gate.clock.now_us()
            current = gate.store.scoped_stop(subject.kind, subject.key)
            if state is m.SwitchState.REDUCING and current is not None and current.closed:
                return None
            stop = ScopedStop(
                subject.kind, subject.key, state, reason, call.principal, now,
                call.request_id, (current.version if current else 0) + 1,
            )  # fmt: skip
            detail = {"reason": reason, **evidence}
            if current is not None and current.reopen_pending(now):
                detail["reopen_cancelled_by_close"] = current.reopen_by
            try:
                saved, revoked, event_id = gate.store.save_scoped_stop(
                    stop, self._draft(call, subject, value, detail), now, revoke
                )
            except ScopeMoved:
                continue
            log.warning("scope %s", state.value.lower(), extra=saved.audit_detail())
            return ScopeResult(saved, event_id, int(revoked.get("revoked_approvals", "0")))
        raise StoreUnavailable("the scope kept changing under the close")

    # ---- open, or reduce from CLOSED: the guarded loosening ---------------------------------

    def _open(
        self, call: m.Call, subject: Subject, value: str, reason: str, target: m.SwitchState
    ) -> ScopeResult | m.Denial:
        gate = self._gate
        ids = _ids(subject.kind, value)
        current = gate.store.scoped_stop(subject.kind, subject.key)
        if current is None or not current.stopped:
            return gate.refuse(call, _not_stopped(subject), **ids)
        if current.state is target:
            # REDUCING asked again of a scope a close moved on from meanwhile is the close's.
            return gate.refuse(call, _moved(subject), **ids)
        unverified = self._audit_denial()
        if unverified is not None:
            return gate.refuse(call, unverified, **ids)
        now = gate.clock.now_us()
        settings = gate.settings
        detail = {"reason": reason, "target": target.value}
        if not settings.reopen_second_operator:
            stop = _opened(current, call, reason, now, target)
        elif current.reopen_pending(now):
            if current.reopen_by == call.principal:
                return gate.refuse(call, _same_operator(current), **ids)
            if current.reopen_target is not target:
                return gate.refuse(call, _target_mismatch(current, target), **ids)
            stop = _opened(current, call, reason, now, target)
            detail |= {"reopen": "CONFIRMED", "requested_by": current.reopen_by,
                       "reopen_reason": current.reopen_reason,
                       "reopen_request_id": current.reopen_request_id}  # fmt: skip
        else:
            stop = dataclasses.replace(
                current,
                version=current.version + 1,
                reopen_by=call.principal,
                reopen_reason=reason,
                reopen_request_id=call.request_id,
                reopen_expires_at_us=now + settings.reopen_window_us,
                reopen_target=target,
            )
            detail |= {"reopen": "REQUESTED", "expires_at_us": str(stop.reopen_expires_at_us)}
        try:
            saved, _, event_id = gate.store.save_scoped_stop(
                stop, self._draft(call, subject, value, detail), now
            )
        except ScopeMoved:
            return gate.refuse(call, _moved(subject), **ids)
        return ScopeResult(saved, event_id)

    def _audit_denial(self) -> m.Denial | None:
        if self.audit_check is None:
            return audit_unverified({"audit_problem": "NO_VERIFIER"})
        passed, found = self.audit_check()
        return None if passed else audit_unverified(found)

    def _draft(
        self, call: m.Call, subject: Subject, value: str, detail: dict[str, str]
    ) -> AuditDraft:
        return self._gate.draft(
            call, "RECORDED", None, gate_step=0, detail=detail, **_ids(subject.kind, value)
        )


def _opened(
    current: ScopedStop, call: m.Call, reason: str, now: int, target: m.SwitchState
) -> ScopedStop:
    return ScopedStop(
        current.kind, current.key, target, reason, call.principal, now,
        call.request_id, current.version + 1,
    )  # fmt: skip


def _ids(kind: ScopeKind, value: str) -> dict[str, str]:
    """What the audit event names: the account (hashed by the draft), else nothing extra."""
    return {"account_id": value} if kind is ScopeKind.ACCOUNT else {}


def _revocation(kind: ScopeKind, value: str) -> Revocation:
    if kind is ScopeKind.ACCOUNT:
        return Revocation("account_id", value)
    if kind is ScopeKind.PRINCIPAL:
        # Its previews' approvals, and the approvals it granted: a stopped client's work dies.
        return Revocation("created_by", value, approved_by=value)
    return Revocation("strategy", value)


def _not_found(reason: str, kind: ScopeKind, field: str, value: str) -> m.Denial:
    meta = {"scope_kind": kind.value, field: value}
    return m.Denial(reason, "NOT_FOUND", 0, f"no such {kind.value.lower()} to stop", meta)


def _not_stopped(subject: Subject) -> m.Denial:
    return m.Denial(
        reasons.SCOPE_NOT_STOPPED,
        "NOT_FOUND",
        0,
        "the scope is not stopped",
        {"scope_kind": subject.kind.value, "scope": subject.key},
    )


def _same_operator(current: ScopedStop) -> m.Denial:
    return m.Denial(
        reasons.REOPEN_SAME_OPERATOR,
        "PERMISSION_DENIED",
        6,
        "the scope's reopen must be confirmed by another operator than the one who requested it",
        {"scope_kind": current.kind.value, "scope": current.key, "requested_by": current.reopen_by},
    )


def _target_mismatch(current: ScopedStop, asked: m.SwitchState) -> m.Denial:
    return m.Denial(
        reasons.REOPEN_TARGET_MISMATCH,
        "FAILED_PRECONDITION",
        6,
        f"the scope's pending request asks {current.reopen_target.value}, not {asked.value}: "
        "confirm it with the same state, or close the scope and request again",
        {
            "scope_kind": current.kind.value,
            "scope": current.key,
            "requested_by": current.reopen_by,
            "pending_target": current.reopen_target.value,
            "asked": asked.value,
        },
    )


def _moved(subject: Subject) -> m.Denial:
    return m.Denial(
        reasons.SCOPE_CHANGED,
        "ABORTED",
        6,
        "the scope changed while it was being opened (a close or another operator): read it "
        "and try again",
        {"scope_kind": subject.kind.value, "scope": subject.key},
    )


__all__ = ["ScopeResult", "ScopedStops", "stopped_denial"]
