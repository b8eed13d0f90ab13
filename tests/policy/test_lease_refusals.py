"""RenewLease and ReleaseLease refusals over gRPC (fake writer; SQLite and PostgreSQL): each
with its UPPER_SNAKE reason, status, gate step and numbers, audited like every refusal."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from livegate_api.v1 import policy_pb2
from policy_service.metrics import register_state_gauges
from tests.policy.conftest import MakePolicy
from tests.policy.harness import AUDIT_EVERY_REFUSAL, Harness, meta_of, reason_of

OVERRIDES = {**AUDIT_EVERY_REFUSAL, "dead_man.min_ttl_s": 2, "dead_man.max_ttl_s": 60}


def _refused(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def _renew(stub: Any, ttl_s: float) -> policy_pb2.Lease:
    return stub.RenewLease(policy_pb2.RenewLeaseRequest(ttl_s=ttl_s), timeout=10)


def _release(stub: Any) -> policy_pb2.Lease:
    return stub.ReleaseLease(policy_pb2.ReleaseLeaseRequest(), timeout=10)


def _leases(state: str) -> float | None:
    return REGISTRY.get_sample_value("livegate_dead_man_leases", {"state": state})


def _audited(policy: Harness, method: str, reason: str, step: int) -> None:
    last = policy.last_audit()
    assert (last["method"], last["outcome"], last["reason"], last["gate_step"]) == (
        method, "REFUSED", reason, step,
    )  # fmt: skip


@pytest.mark.parametrize("ttl_s", [1.0, 61.0, 0.0, -5.0, float("nan"), float("inf")])
def test_renew_lease_when_ttl_is_out_of_range_then_invalid_argument_with_the_bounds(
    make_policy: MakePolicy, ttl_s: float
) -> None:
    policy = make_policy(overrides=OVERRIDES)

    err = _refused(lambda: _renew(policy.upstream, ttl_s))

    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(err) == "LEASE_TTL_OUT_OF_RANGE"
    meta = meta_of(err)
    assert (meta["min_ttl_s"], meta["max_ttl_s"], meta["gate_step"]) == ("2", "60", "2")
    assert meta["ttl_s"] == f"{ttl_s:g}"
    _audited(policy, "RenewLease", "LEASE_TTL_OUT_OF_RANGE", 2)
    assert policy.count("principal_leases") == 0


def test_renew_lease_when_dead_man_is_turned_off_then_lease_disabled(
    make_policy: MakePolicy,
) -> None:
    policy = make_policy(overrides={**OVERRIDES, "dead_man.enabled": False})

    renew = _refused(lambda: _renew(policy.upstream, 10))
    _audited(policy, "RenewLease", "LEASE_DISABLED", 4)
    release = _refused(lambda: _release(policy.upstream))

    assert renew.code() == release.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(renew) == reason_of(release) == "LEASE_DISABLED"
    assert meta_of(renew)["condition"] == "dead_man.enabled"
    _audited(policy, "ReleaseLease", "LEASE_DISABLED", 4)
    assert policy.count("principal_leases") == 0


def test_renew_lease_when_caller_lacks_live_submit_then_scope_missing(
    make_policy: MakePolicy,
) -> None:
    policy = make_policy(overrides=OVERRIDES)

    err = _refused(lambda: _renew(policy.approver, 10))

    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (reason_of(err), meta_of(err)["scope"]) == ("SCOPE_MISSING", "live.submit")
    _audited(policy, "RenewLease", "SCOPE_MISSING", 3)


def test_release_lease_when_the_caller_holds_none_then_lease_not_found(
    make_policy: MakePolicy,
) -> None:
    policy = make_policy(overrides=OVERRIDES)

    err = _refused(lambda: _release(policy.upstream))

    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert (reason_of(err), meta_of(err)["principal"]) == ("LEASE_NOT_FOUND", "upstream")
    _audited(policy, "ReleaseLease", "LEASE_NOT_FOUND", 6)


def test_renew_and_release_when_the_lease_expired_then_lease_lapsed(
    make_policy: MakePolicy,
) -> None:
    policy = make_policy(overrides=OVERRIDES)
    started = _renew(policy.upstream, 5)
    policy.clock.advance(6)  # past expiry, whether or not the watch has acted yet

    renew = _refused(lambda: _renew(policy.upstream, 5))
    _audited(policy, "RenewLease", "LEASE_LAPSED", 6)
    release = _refused(lambda: _release(policy.upstream))

    assert started.state == policy_pb2.LEASE_STATE_ACTIVE
    assert renew.code() == release.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(renew) == reason_of(release) == "LEASE_LAPSED"
    assert meta_of(renew)["expires_at_us"] == str(
        started.expires_at.seconds * 1_000_000 + started.expires_at.nanos // 1000
    )
    _audited(policy, "ReleaseLease", "LEASE_LAPSED", 6)


def test_renew_lease_when_active_then_extended_only_its_start_audited_and_gauged(
    make_policy: MakePolicy,
) -> None:
    policy = make_policy(overrides=OVERRIDES)
    first = _renew(policy.upstream, 5)
    events = policy.count("audit_events")

    second = _renew(policy.upstream, 10)

    assert second.expires_at.ToMicroseconds() > first.expires_at.ToMicroseconds()
    assert (second.ttl_s, second.state) == (10.0, policy_pb2.LEASE_STATE_ACTIVE)
    assert policy.count("audit_events") == events  # a renewal is a heartbeat, not an event
    register_state_gauges(policy.service.store)
    assert _leases("ACTIVE") == 1.0 and _leases("RELEASED") == 0.0
    released = _release(policy.upstream)
    assert released.state == policy_pb2.LEASE_STATE_RELEASED
    assert _leases("ACTIVE") == 0.0 and _leases("RELEASED") == 1.0
    last = policy.last_audit()
    assert (last["method"], last["outcome"]) == ("ReleaseLease", "RECORDED")
