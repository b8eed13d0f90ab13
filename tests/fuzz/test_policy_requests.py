"""Every PolicyService request, fuzzed against a real service: a clear status, never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from livegate_api.v1 import policy_pb2
from tests.fuzz import policy_strategies as fz
from tests.fuzz.policy_checks import OnSuccess, assert_chain_verifies, exercise
from tests.fuzz.policy_target import IDENTITIES, PolicyTarget

# Per backend: PostgreSQL's round trips make each example several times dearer, and the
# suite's time stays bounded; SQLite covers the breadth.
EXAMPLES = {"sqlite": 120, "postgres": 30}


def fuzz(target: PolicyTarget, examples: int | None = None) -> settings:
    """Hypothesis settings for TARGET's backend; EXAMPLES caps a test's own smaller count."""
    limit = EXAMPLES[target.backend]
    return settings(
        max_examples=limit if examples is None else min(examples, limit),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


identities = st.sampled_from(IDENTITIES)


# Mostly open: a closed switch stops every write at step 6, before the later checks.
switch_states = st.sampled_from([True, True, True, False])


def caller(natural: str) -> st.SearchStrategy[str]:
    """Mostly the identity that holds the scope, so examples get past step 3."""
    return st.one_of(st.just(natural), st.just(natural), identities)


def test_create_order_preview_when_fields_are_fuzzed_then_clear_status(
    policy: PolicyTarget,
) -> None:
    @fuzz(policy)
    @given(identity=caller("upstream"), request=fz.create_order_preview())
    def run(identity: str, request: policy_pb2.CreateOrderPreviewRequest) -> None:
        exercise(policy, identity, "CreateOrderPreview", request, OnSuccess.PREVIEWS)

    run()
    assert_chain_verifies(policy)


def test_create_modify_preview_when_fields_are_fuzzed_then_clear_status(
    policy: PolicyTarget,
) -> None:
    @fuzz(policy)
    @given(identity=caller("upstream"), request=fz.create_modify_preview(policy.orders))
    def run(identity: str, request: policy_pb2.CreateModifyPreviewRequest) -> None:
        exercise(policy, identity, "CreateModifyPreview", request, OnSuccess.PREVIEWS)

    run()
    assert_chain_verifies(policy)


def test_create_bracket_preview_when_fields_are_fuzzed_then_clear_status(
    policy: PolicyTarget,
) -> None:
    @fuzz(policy)
    @given(identity=caller("upstream"), request=fz.create_bracket_preview())
    def run(identity: str, request: policy_pb2.CreateBracketPreviewRequest) -> None:
        exercise(policy, identity, "CreateBracketPreview", request, OnSuccess.PREVIEWS)

    run()
    assert_chain_verifies(policy)


def test_approve_preview_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(identity=caller("approver"), request=fz.approve_preview(policy.previews))
    def run(identity: str, request: policy_pb2.ApprovePreviewRequest) -> None:
        exercise(policy, identity, "ApprovePreview", request, OnSuccess.APPROVALS)

    run()
    assert_chain_verifies(policy)


def test_submit_order_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(
        identity=caller("upstream"),
        switch_open=switch_states,
        request=fz.submit_order(policy.previews, policy.approvals),
    )
    def run(identity: str, switch_open: bool, request: policy_pb2.SubmitOrderRequest) -> None:
        policy.set_switch(switch_open)
        exercise(policy, identity, "SubmitOrder", policy.fresh(request), OnSuccess.ANYTHING)

    run()
    assert_chain_verifies(policy)


def test_cancel_order_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(
        identity=caller("upstream"),
        switch_open=switch_states,
        request=fz.cancel_order(policy.orders),
    )
    def run(identity: str, switch_open: bool, request: policy_pb2.CancelOrderRequest) -> None:
        policy.set_switch(switch_open)
        exercise(policy, identity, "CancelOrder", request, OnSuccess.ANYTHING)

    run()
    assert_chain_verifies(policy)


def test_get_broker_order_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(identity=caller("upstream"), request=fz.get_broker_order(policy.orders))
    def run(identity: str, request: policy_pb2.GetBrokerOrderRequest) -> None:
        exercise(policy, identity, "GetBrokerOrder", request, OnSuccess.NOTHING)

    run()
    assert_chain_verifies(policy)


def test_modify_order_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(
        identity=caller("upstream"),
        switch_open=switch_states,
        request=fz.modify_order(policy.modify, policy.previews, policy.orders),
    )
    def run(identity: str, switch_open: bool, request: policy_pb2.ModifyOrderRequest) -> None:
        policy.set_switch(switch_open)
        exercise(policy, identity, "ModifyOrder", request, OnSuccess.ANYTHING)

    run()
    assert_chain_verifies(policy)


def test_submit_bracket_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(
        identity=caller("upstream"),
        switch_open=switch_states,
        request=fz.submit_bracket(policy.bracket, policy.previews, policy.approvals),
    )
    def run(identity: str, switch_open: bool, request: policy_pb2.SubmitBracketRequest) -> None:
        policy.set_switch(switch_open)
        exercise(policy, identity, "SubmitBracket", policy.fresh(request), OnSuccess.ANYTHING)

    run()
    assert_chain_verifies(policy)


def test_set_kill_switch_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(identity=caller("operator"), request=fz.set_kill_switch())
    def run(identity: str, request: policy_pb2.SetKillSwitchRequest) -> None:
        exercise(policy, identity, "SetKillSwitch", request, OnSuccess.ANYTHING)

    run()
    assert_chain_verifies(policy)


def test_confirm_reopen_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(identity=caller("operator2"), request=fz.confirm_reopen())
    def run(identity: str, request: policy_pb2.ConfirmReopenRequest) -> None:
        exercise(policy, identity, "ConfirmReopen", request, OnSuccess.ANYTHING)

    run()
    assert_chain_verifies(policy)


def test_read_calls_when_caller_is_fuzzed_then_nothing_changes(policy: PolicyTarget) -> None:
    reads = st.sampled_from(
        [
            ("GetKillSwitch", policy_pb2.GetKillSwitchRequest()),
            ("GetLiveStatus", policy_pb2.GetLiveStatusRequest()),
            ("VerifyAudit", policy_pb2.VerifyAuditRequest()),
        ]
    )

    @fuzz(policy, 20)
    @given(identity=identities, call=reads)
    def run(identity: str, call: tuple[str, object]) -> None:
        exercise(policy, identity, call[0], call[1], OnSuccess.NOTHING)

    run()
    assert_chain_verifies(policy)


def test_list_audit_events_when_filters_are_fuzzed_then_clear_status(
    policy: PolicyTarget,
) -> None:
    @fuzz(policy)
    @given(identity=caller("operator"), request=fz.list_audit_events())
    def run(identity: str, request: policy_pb2.ListAuditEventsRequest) -> None:
        exercise(policy, identity, "ListAuditEvents", request, OnSuccess.NOTHING)

    run()
    assert_chain_verifies(policy)


def test_export_audit_when_until_is_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy, 30)
    @given(identity=caller("operator"), request=fz.export_audit())
    def run(identity: str, request: policy_pb2.ExportAuditRequest) -> None:
        exercise(policy, identity, "ExportAudit", request, OnSuccess.ANYTHING)

    run()
    assert_chain_verifies(policy)


def test_purge_audit_when_before_is_fuzzed_then_refused_clearly(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(identity=caller("operator"), request=fz.purge_audit())
    def run(identity: str, request: policy_pb2.PurgeAuditRequest) -> None:
        # Nothing is past the 2555-day retention here, so every purge must be refused.
        response = exercise(policy, identity, "PurgeAudit", request, OnSuccess.NOTHING)
        assert response is None, response

    run()
    assert_chain_verifies(policy)


# Before the last: the lease it may start is released, so no lapse stops the upstream caller.
def test_renew_lease_when_ttl_is_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    @fuzz(policy)
    @given(identity=caller("upstream"), request=fz.renew_lease())
    def run(identity: str, request: policy_pb2.RenewLeaseRequest) -> None:
        exercise(policy, identity, "RenewLease", request, OnSuccess.ANYTHING)

    run()
    policy.stub("upstream").ReleaseLease(policy_pb2.ReleaseLeaseRequest(), timeout=10)
    assert_chain_verifies(policy)


# Last in the module: a scope it closes stays closed for the module's policy service.
def test_set_scoped_stop_when_fields_are_fuzzed_then_clear_status(policy: PolicyTarget) -> None:
    states: set[int] = set()
    kind, reducing, closed = policy_pb2.SCOPE_KIND_STRATEGY, 3, 2

    def scoped(state: int) -> policy_pb2.SetScopedStopRequest:
        return policy_pb2.SetScopedStopRequest(
            kind=kind, value="fuzz-reducing", state=state, reason="fuzz"
        )

    # Every REDUCING transition at least once: from nothing (at once), to CLOSED, and the
    # guarded CLOSED -> REDUCING request; then whatever hypothesis draws.
    @fuzz(policy)
    @given(identity=caller("operator"), request=fz.set_scoped_stop())
    @example(identity="operator", request=scoped(reducing))
    @example(identity="operator", request=scoped(closed))
    @example(identity="operator", request=scoped(reducing))
    def run(identity: str, request: policy_pb2.SetScopedStopRequest) -> None:
        response = exercise(policy, identity, "SetScopedStop", request, OnSuccess.ANYTHING)
        if response is not None:
            states.add(response.stop.state)
            if response.stop.reopen_requested_by:
                states.add(-response.stop.reopen_target)  # a pending loosening's target

    run()
    assert_chain_verifies(policy)
    assert {reducing, closed, -reducing} <= states
