"""Wire <-> domain for scoped stops: the strategy tag, SetScopedStop's fields, a stop's view."""

from __future__ import annotations

import re
from typing import Final

from livegate_api.v1 import common_pb2, policy_pb2
from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.scopes import ScopedStop, ScopeKind
from policy_service.wire import ShapeError, account, bounded, known, ts

# The idempotency key's alphabet: a tag travels in audit details and metric labels.
_TAG_RE: Final = re.compile(r"^[A-Za-z0-9._:\-]{1,64}\Z")
_PRINCIPAL_RE: Final = re.compile(r"^[A-Za-z0-9._:@\-]{1,128}\Z")
MAX_TAG: Final = 64
MAX_VALUE: Final = 128

KINDS: Final = {
    policy_pb2.SCOPE_KIND_ACCOUNT: ScopeKind.ACCOUNT,
    policy_pb2.SCOPE_KIND_PRINCIPAL: ScopeKind.PRINCIPAL,
    policy_pb2.SCOPE_KIND_STRATEGY: ScopeKind.STRATEGY,
}
KIND_TO_WIRE: Final = {v: k for k, v in KINDS.items()}
STATES: Final = {
    common_pb2.KILL_SWITCH_STATE_OPEN: m.SwitchState.OPEN,
    common_pb2.KILL_SWITCH_STATE_CLOSED: m.SwitchState.CLOSED,
    common_pb2.KILL_SWITCH_STATE_REDUCING: m.SwitchState.REDUCING,
}
STATE_TO_WIRE: Final = {v: k for k, v in STATES.items()}


def strategy(value: str, field: str = "strategy") -> str:
    """An optional tag: "" or 1..64 characters of [A-Za-z0-9._:-]."""
    if not value:
        return ""
    bounded(value, field, MAX_TAG)
    if not _TAG_RE.match(value):
        raise ShapeError(
            reasons.FIELD_INVALID, f"{field} must be [A-Za-z0-9._:-] characters", field=field
        )
    return value


def scope_value(kind: ScopeKind, value: str) -> str:
    """SetScopedStop's value, shape-checked for its kind (existence is the domain's check)."""
    bounded(value, "value", MAX_VALUE)
    if kind is ScopeKind.ACCOUNT:
        try:
            return account(value)
        except ShapeError as err:
            raise ShapeError(
                err.denial.reason, "value is not an account id", field="value"
            ) from err
    if kind is ScopeKind.STRATEGY:
        return strategy(value, "value")
    if not _PRINCIPAL_RE.match(value):
        raise ShapeError(reasons.FIELD_INVALID, "value is not a principal name", field="value")
    return value


def set_request(req: policy_pb2.SetScopedStopRequest) -> tuple[ScopeKind, str, m.SwitchState, str]:
    kind = known(req.kind, KINDS, "kind")
    state = known(req.state, STATES, "state")
    return kind, scope_value(kind, req.value), state, bounded(req.reason, "reason", 500)


def stop_to_wire(stop: ScopedStop, now_us: int) -> policy_pb2.ScopedStop:
    msg = policy_pb2.ScopedStop(
        kind=KIND_TO_WIRE[stop.kind],
        scope=stop.key,
        state=STATE_TO_WIRE[stop.state],
        reason=stop.reason,
        changed_by=stop.changed_by,
        changed_at=ts(stop.changed_at_us),
        request_id=stop.request_id,
        version=stop.version,
    )
    if stop.reopen_pending(now_us):
        msg.reopen_requested_by = stop.reopen_by
        msg.reopen_expires_at.CopyFrom(ts(stop.reopen_expires_at_us))
        msg.reopen_target = STATE_TO_WIRE[stop.reopen_target]
    return msg
