"""The audit verdict on the wire: VerifyAuditResponse with its chain and anchor states."""

from __future__ import annotations

from typing import Final

from livegate_api.v1 import policy_pb2
from policy_service.audit_watch import AuditVerdict
from policy_service.domain.audit_anchor import AnchorState
from policy_service.wire import ts

_ANCHOR_STATES: Final = {
    AnchorState.CURRENT: policy_pb2.AUDIT_ANCHOR_STATE_CURRENT,
    AnchorState.BEHIND: policy_pb2.AUDIT_ANCHOR_STATE_BEHIND,
    AnchorState.MISSING: policy_pb2.AUDIT_ANCHOR_STATE_MISSING,
    AnchorState.REWOUND: policy_pb2.AUDIT_ANCHOR_STATE_REWOUND,
    AnchorState.INVALID: policy_pb2.AUDIT_ANCHOR_STATE_INVALID,
}


def verdict_to_wire(verdict: AuditVerdict) -> policy_pb2.VerifyAuditResponse:
    anchors = verdict.anchors
    msg = policy_pb2.VerifyAuditResponse(
        ok=verdict.ok,
        events_checked=verdict.events_checked,
        first_bad_event_id=verdict.problem.event_id if verdict.problem else 0,
        problem=verdict.reported_problem,
        head_hash=verdict.head_link,
        purged_through_event_id=verdict.purged_through,
        chain_state=policy_pb2.AUDIT_CHAIN_STATE_BROKEN
        if verdict.broken
        else policy_pb2.AUDIT_CHAIN_STATE_INTACT,
        anchor_state=_ANCHOR_STATES[anchors.state],
        head_event_id=verdict.head_event_id,
        anchored_event_id=anchors.anchored_event_id,
        unanchored_events=anchors.unanchored_events,
        key_ids=list(verdict.key_ids),
    )
    if anchors.anchored_at_us:
        msg.anchored_at.CopyFrom(ts(anchors.anchored_at_us))
    return msg
