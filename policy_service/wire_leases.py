"""Wire <-> domain for dead-man leases: RenewLease's ttl, a lease's view."""

from __future__ import annotations

from typing import Final

from livegate_api.v1 import policy_pb2
from policy_service.domain.leases import Lease, LeaseState
from policy_service.wire import ts

STATE_TO_WIRE: Final = {
    LeaseState.ACTIVE: policy_pb2.LEASE_STATE_ACTIVE,
    LeaseState.LAPSED: policy_pb2.LEASE_STATE_LAPSED,
    LeaseState.STOPPED: policy_pb2.LEASE_STATE_STOPPED,
    LeaseState.RELEASED: policy_pb2.LEASE_STATE_RELEASED,
}


def lease_to_wire(lease: Lease, now_us: int) -> policy_pb2.Lease:
    msg = policy_pb2.Lease(
        principal=lease.principal,
        state=STATE_TO_WIRE[lease.state(now_us)],
        ttl_s=lease.ttl_s,
        renewed_at=ts(lease.renewed_at_us),
        expires_at=ts(lease.expires_at_us),
        claimed_by=lease.claimed_by,
        attempts=lease.attempts,
    )
    for field, us in (
        ("scope_closed_at", lease.scope_closed_at_us),
        ("stopped_at", lease.stopped_at_us),
        ("released_at", lease.released_at_us),
    ):
        if us:
            getattr(msg, field).CopyFrom(ts(us))
    return msg
