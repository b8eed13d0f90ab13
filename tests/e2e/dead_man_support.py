"""Shared steps of the dead-man lease tests: a stack whose upstream callers can opt in, orders
of two principals and one placed by hand, and what to look at afterwards."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_common import scopes
from tests.policy.harness import AUDIT_EVERY_REFUSAL, new_key, order_msg
from tests.support.grpc_clients import channel_as
from tests.support.net import wait_until
from tests.support.stack import RESTING_BUY, Replica, Stack
from tests.support.writers import ACCOUNT
from tests.writer.test_cancel_all import HAND_CLIENT_ID, place_by_hand

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
OPEN = common_pb2.KILL_SWITCH_STATE_OPEN
PRINCIPAL_KIND = policy_pb2.SCOPE_KIND_PRINCIPAL
# The shipped check interval; a short ttl so that a test waits seconds, not minutes.
CHECK_S = 1.0
TTL_S = 2.0
# operator2 also trades: the other principal whose orders a lapse must leave alone, and the
# second operator of a guarded reopen.
OTHER = "operator2"
OVERRIDES = {
    **AUDIT_EVERY_REFUSAL,
    "audit.verify_interval_s": 3600,
    "dead_man.min_ttl_s": 1,
    "principals.operator2.scopes": [
        scopes.PREVIEW_CREATE, scopes.LIVE_SUBMIT, scopes.LIVE_CANCEL,
        scopes.KILLSWITCH_OPERATE, scopes.AUDIT_READ,
    ],
}  # fmt: skip


def stub(stack: Stack, identity: str, replica: Replica | None = None) -> Any:
    r = replica or stack.policy
    channel = channel_as(stack.pki, identity, r.port)
    r.channels.append(channel)  # closed with the replica
    return policy_pb2_grpc.PolicyServiceStub(channel)


def place(stack: Stack, upstream: Any, replica: Replica | None = None) -> int:
    """A resting buy UPSTREAM places through the gate (approved by the approver)."""
    r = replica or stack.policy
    preview = upstream.CreateOrderPreview(
        policy_pb2.CreateOrderPreviewRequest(account_id=ACCOUNT, order=order_msg("1", RESTING_BUY)),
        timeout=10,
    )
    approval = r.approver.ApprovePreview(
        policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id), timeout=10
    )
    reply = upstream.SubmitOrder(
        policy_pb2.SubmitOrderRequest(
            account_id=ACCOUNT, preview_id=preview.preview_id, approval_id=approval.approval_id,
            idempotency_key=new_key(),
        ),
        timeout=15,
    )  # fmt: skip
    return int(reply.order.broker_order_id)


def place_hand_order(stack: Stack) -> int:
    place_by_hand(stack.sim)
    [hand] = [o for o in stack.sim.orders() if o.client_id == HAND_CLIENT_ID]
    return int(hand.order_id)


def status_of(stack: Stack, order_id: int) -> str:
    [order] = [o for o in stack.sim.orders() if o.order_id == order_id]
    return str(order.status)


def renew(upstream: Any, ttl_s: float = TTL_S, rid: str = "") -> policy_pb2.Lease:
    metadata = (("x-request-id", rid),) if rid else ()
    return upstream.RenewLease(
        policy_pb2.RenewLeaseRequest(ttl_s=ttl_s), metadata=metadata, timeout=10
    )


def live_status(replica: Replica) -> policy_pb2.LiveStatus:
    return replica.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)


def lease_of(replica: Replica, principal: str) -> policy_pb2.Lease:
    [lease] = [x for x in live_status(replica).leases if x.principal == principal]
    return lease


def scope_closed(replica: Replica, principal: str) -> bool:
    return any(
        (s.kind, s.scope, s.state) == (PRINCIPAL_KIND, principal, CLOSED)
        for s in live_status(replica).scoped_stops
    )


def expires_s(lease: policy_pb2.Lease) -> float:
    return lease.expires_at.seconds + lease.expires_at.nanos / 1e9


@dataclass(frozen=True)
class Lapse:
    """What a test measured of one lapse: seconds from the lease's expiry to each step seen."""

    scope_closed_s: float
    stopped_s: float


def watch_lapse(replica: Replica, principal: str, expires: float, timeout_s: float) -> Lapse:
    """Polls (every 20 ms, bounded) until the scope closed, then until the lease is STOPPED;
    the seconds from EXPIRES (wall clock, as the lease states it) to each."""
    assert wait_until(lambda: scope_closed(replica, principal), timeout_s, interval_s=0.02)
    closed_at = time.time()
    assert wait_until(
        lambda: lease_of(replica, principal).state == policy_pb2.LEASE_STATE_STOPPED,
        timeout_s,
        interval_s=0.02,
    )
    return Lapse(closed_at - expires, time.time() - expires)


def auto_scope_closes(replica: Replica) -> list[Any]:
    """The audited scope closes of the dead-man trigger."""
    events = replica.operator.ListAuditEvents(
        policy_pb2.ListAuditEventsRequest(page_size=1000), timeout=10
    ).events
    return [e for e in events if e.method == "AutoStop" and e.principal == "auto:dead_man_lease"]


def auto_cancels(replica: Replica) -> list[Any]:
    """The cancels the dead-man trigger sent, as audited (one event per outcome)."""
    events = replica.operator.ListAuditEvents(
        policy_pb2.ListAuditEventsRequest(page_size=1000), timeout=10
    ).events
    return [
        e
        for e in events
        if e.method == "CancelOrder"
        and e.principal == "auto:dead_man_lease"
        and e.outcome != "PENDING"
    ]


def cancels_sent(stack: Stack, order_id: int) -> int:
    """Cancel messages the simulator received for ORDER_ID."""
    return sum(
        1
        for w in stack.sim.received_writes()
        if w.name == "CANCEL_ORDER" and str(order_id) in w.fields[1:3]
    )
