"""Automatic stop (f): a dead-man lease per upstream principal, over the whole stack (simulator,
OpenBao, the real writer, SQLite). A client that opted in and stopped renewing gets its open
orders cancelled and its principal scope closed; nobody else's orders are touched."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY

from livegate_api.v1 import policy_pb2
from livegate_common.auto_stop_bounds import dead_man_cancels_s, dead_man_lease_s
from tests.e2e.dead_man_support import (
    CHECK_S,
    OPEN,
    OTHER,
    OVERRIDES,
    PRINCIPAL_KIND,
    TTL_S,
    auto_cancels,
    auto_scope_closes,
    cancels_sent,
    expires_s,
    lease_of,
    live_status,
    place,
    place_hand_order,
    renew,
    scope_closed,
    status_of,
    stub,
    watch_lapse,
)
from tests.policy.harness import meta_of, reason_of
from tests.support.audit_rows import events_by_request
from tests.support.net import wait_until
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault

WORKING = ("Submitted", "PreSubmitted")


@pytest.fixture
def stack(dev_pki: Path, tmp_path: Path, stack_vault: DevVault) -> Iterator[Stack]:
    with live_stack(dev_pki, tmp_path, stack_vault, policy_overrides=OVERRIDES) as running:
        yield running


def _deadline_s(stack: Stack) -> float:
    """The policy's writer.deadline_s (derived from the stack's broker timeout)."""
    return float(stack.policy.service.gate.writer._config.deadline_s)  # type: ignore[attr-defined]


def _reopen(stack: Stack, principal: str) -> None:
    """The guarded way: one operator requests, a second confirms."""
    for who in (stack.policy.operator, stub(stack, OTHER)):
        who.SetScopedStop(
            policy_pb2.SetScopedStopRequest(
                kind=PRINCIPAL_KIND, value=principal, state=OPEN, reason="INC-7 client restarted"
            ),
            timeout=30,
        )


def test_lease_when_it_lapses_then_only_that_clients_orders_are_cancelled_and_scope_closed(
    stack: Stack,
) -> None:
    up, other = stack.policy.upstream, stub(stack, OTHER)
    mine = [place(stack, up), place(stack, up)]
    theirs = place(stack, other)
    hand = place_hand_order(stack)
    renew(other, 60.0)  # a renewing client: untouched
    lease = renew(up)
    assert lease.state == policy_pb2.LEASE_STATE_ACTIVE and lease.principal == "upstream"

    bound = dead_man_lease_s(CHECK_S)
    cancels_bound = dead_man_cancels_s(CHECK_S, _deadline_s(stack), len(mine))
    lapse = watch_lapse(stack.policy, "upstream", expires_s(lease), TTL_S + cancels_bound + 5)
    print(
        f"\ndead-man lease (SQLite): lapse -> scope closed {lapse.scope_closed_s:.3f} s "
        f"(bound {bound:.1f} s); lapse -> {len(mine)} orders cancelled {lapse.stopped_s:.3f} s "
        f"(bound {cancels_bound:.1f} s)"
    )
    assert lapse.scope_closed_s <= bound
    assert lapse.stopped_s <= cancels_bound

    assert [status_of(stack, o) for o in mine] == ["Cancelled", "Cancelled"]
    assert status_of(stack, theirs) in WORKING
    assert status_of(stack, hand) in WORKING
    assert [cancels_sent(stack, o) for o in (*mine, theirs, hand)] == [1, 1, 0, 0]
    [close] = auto_scope_closes(stack.policy)
    assert close.detail["auto_stop"] == "dead_man_lease"
    assert close.detail["reason"].startswith("AUTO_STOP_DEAD_MAN_LEASE: ")
    assert close.detail["evidence.principal"] == "upstream"
    assert close.detail["evidence.ttl_s"] == "2"
    # One audited cancel per order, under the lapse's own key (dm-<expiry>-<try>-<order>).
    keyed = sorted(int(e.idempotency_key.rsplit("-", 1)[1]) for e in auto_cancels(stack.policy))
    assert keyed == sorted(mine)
    assert lease_of(stack.policy, OTHER).state == policy_pb2.LEASE_STATE_ACTIVE
    assert not scope_closed(stack.policy, OTHER)
    # The stopped client places nothing more, and its renewals are refused, audited.
    with pytest.raises(grpc.RpcError) as refused:
        place(stack, up)
    assert reason_of(refused.value) == "SCOPE_STOPPED_PRINCIPAL"
    rid = f"rid-{uuid.uuid4().hex[:12]}"
    with pytest.raises(grpc.RpcError) as lapsed:
        renew(up, rid=rid)
    assert reason_of(lapsed.value) == "LEASE_LAPSED"
    assert (meta_of(lapsed.value)["gate_step"], meta_of(lapsed.value)["scope_state"]) == (
        "6", "CLOSED",
    )  # fmt: skip
    [event] = events_by_request(stack.db_url, rid)
    assert (event["method"], event["reason"], event["gate_step"]) == (
        "RenewLease",
        "LEASE_LAPSED",
        6,
    )


def test_lease_when_the_operator_reopened_the_scope_then_the_next_renewal_starts_anew(
    stack: Stack,
) -> None:
    up = stack.policy.upstream
    lease = renew(up)
    watch_lapse(stack.policy, "upstream", expires_s(lease), TTL_S + dead_man_lease_s(CHECK_S) + 5)
    _reopen(stack, "upstream")
    assert not scope_closed(stack.policy, "upstream")

    again = renew(up, 30.0)

    assert again.state == policy_pb2.LEASE_STATE_ACTIVE and not again.HasField("stopped_at")
    assert place(stack, up) > 0


def test_lease_when_renewed_in_time_then_nothing_is_cancelled_and_release_ends_it(
    stack: Stack,
) -> None:
    up = stack.policy.upstream
    order = place(stack, up)
    first = renew(up)
    until = time.monotonic() + 2 * TTL_S + 2 * CHECK_S
    while time.monotonic() < until:
        renew(up)
        time.sleep(TTL_S / 4)
    released = up.ReleaseLease(policy_pb2.ReleaseLeaseRequest(), timeout=10)
    time.sleep(TTL_S + 2 * CHECK_S)  # past the released lease's expiry: nothing may fire

    assert released.state == policy_pb2.LEASE_STATE_RELEASED and released.HasField("released_at")
    assert status_of(stack, order) in WORKING and cancels_sent(stack, order) == 0
    assert auto_scope_closes(stack.policy) == []
    assert not scope_closed(stack.policy, "upstream")
    assert lease_of(stack.policy, "upstream").state == policy_pb2.LEASE_STATE_RELEASED
    assert [x.principal for x in live_status(stack.policy).leases] == ["upstream"]
    assert expires_s(lease_of(stack.policy, "upstream")) > expires_s(first)


def _retries() -> float:
    return REGISTRY.get_sample_value("livegate_dead_man_lapse_retries_total") or 0.0


def test_lease_when_the_writer_is_down_at_the_lapse_then_scope_closes_and_cancels_are_retried(
    stack: Stack,
) -> None:
    up = stack.policy.upstream
    order = place(stack, up)
    lease = renew(up)
    before = _retries()
    port = stack.writer.port
    stack.writer.stop()
    try:
        # Fail closed: the scope closes without the writer; the cancel waits for it.
        assert wait_until(lambda: scope_closed(stack.policy, "upstream"), TTL_S + 5, 0.02)
        assert wait_until(lambda: _retries() >= before + 2, 30)
        waiting = lease_of(stack.policy, "upstream")
        assert waiting.state == policy_pb2.LEASE_STATE_LAPSED and waiting.attempts >= 2
        assert status_of(stack, order) in WORKING
    finally:
        stack.writer_overrides["server.listen"] = f"127.0.0.1:{port}"
        stack.start_writer()  # the stack's teardown stops this one
    # The writer starts closed; the policy's sync opens it, and the next try cancels.
    assert wait_until(
        lambda: lease_of(stack.policy, "upstream").state == policy_pb2.LEASE_STATE_STOPPED, 30
    )
    assert status_of(stack, order) == "Cancelled"
    assert len(auto_scope_closes(stack.policy)) == 1
    print(f"\ndead-man lease: {_retries() - before:g} retries while the writer was down")
    assert lease.state == policy_pb2.LEASE_STATE_ACTIVE
