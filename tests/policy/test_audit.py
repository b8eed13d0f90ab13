"""Audit: listing, export and purge (past retention, with a verified export); tampering is
test_audit_tamper.py."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from google.protobuf import timestamp_pb2

from livegate_api.v1 import policy_pb2
from tests.policy.conftest import MakePolicy
from tests.policy.harness import ACCOUNT, FakeClock, Harness, reason_of

EIGHT_YEARS_S = 8 * 365 * 86400


def _verify(h: Harness) -> policy_pb2.VerifyAuditResponse:
    return h.approver.VerifyAudit(policy_pb2.VerifyAuditRequest())


def test_verify_when_chain_untouched_then_ok(policy: Harness) -> None:
    policy.submit(*policy.approved())
    res = _verify(policy)
    assert res.ok and res.events_checked == policy.count("audit_events")


def test_audit_when_write_refused_then_event_has_hashed_account_and_step(policy: Harness) -> None:
    pid, aid = policy.approved()
    with pytest.raises(grpc.RpcError):
        policy.submit(pid, aid, key="bad")
    listed = policy.approver.ListAuditEvents(policy_pb2.ListAuditEventsRequest(page_size=1000))
    refusal = listed.events[-1]
    assert (refusal.outcome, refusal.gate_step, refusal.reason) == (
        "REFUSED",
        2,
        "IDEMPOTENCY_KEY_INVALID",
    )
    previews = [e for e in listed.events if e.method == "CreateOrderPreview"]
    assert previews[0].account_id_hash and ACCOUNT not in str(listed)


def test_export_when_called_then_files_verify_against_manifest(policy: Harness) -> None:
    policy.submit(*policy.approved())
    res = policy.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    manifest = json.loads(Path(res.manifest_path).read_text())
    lines = Path(res.path).read_text().splitlines()
    assert (
        len(lines) == res.event_count == manifest["event_count"] == policy.count("audit_events") - 1
    )
    assert manifest["sha256"] == res.sha256


def _old_events(make_policy: MakePolicy) -> Harness:
    """A service whose first events happened eight years ago."""
    clock = FakeClock(offset_s=-EIGHT_YEARS_S)
    h = make_policy(clock=clock)
    h.writer.servicer.state.reference.today_offset_s = -EIGHT_YEARS_S
    h.submit(*h.approved())
    clock.advance(EIGHT_YEARS_S)
    return h


def _purge(h: Harness, dry_run: bool = False) -> policy_pb2.PurgeAuditResponse:
    return h.operator.PurgeAudit(policy_pb2.PurgeAuditRequest(dry_run=dry_run))


def test_purge_when_no_verified_export_then_refused(make_policy: MakePolicy) -> None:
    h = _old_events(make_policy)
    count = h.count("audit_events")
    with pytest.raises(grpc.RpcError) as caught:
        _purge(h)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(caught.value) == "AUDIT_EXPORT_REQUIRED"
    assert h.count("audit_events") == count + 1  # only the refusal's own event


def test_purge_when_events_young_then_retention_not_reached(policy: Harness) -> None:
    policy.submit(*policy.approved())
    policy.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    with pytest.raises(grpc.RpcError) as caught:
        _purge(policy)
    assert reason_of(caught.value) == "AUDIT_RETENTION_NOT_REACHED"


def test_purge_when_export_file_tampered_then_refused(make_policy: MakePolicy) -> None:
    h = _old_events(make_policy)
    until = timestamp_pb2.Timestamp()
    until.FromMicroseconds(h.clock.now_us() - 86_400_000_000)
    export = h.operator.ExportAudit(policy_pb2.ExportAuditRequest(until=until))
    Path(export.path).write_text(Path(export.path).read_text().replace("EXECUTED", "REFUSED"))
    with pytest.raises(grpc.RpcError) as caught:
        _purge(h)
    assert reason_of(caught.value) == "AUDIT_EXPORT_REQUIRED"


def test_purge_when_past_retention_and_exported_then_purged_and_chain_still_verifies(
    make_policy: MakePolicy,
) -> None:
    h = _old_events(make_policy)
    old = h.count("audit_events")
    export = h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    assert export.last_event_id == old
    dry = _purge(h, dry_run=True)
    assert (dry.purged_count, h.count("audit_events")) == (old, old + 1)
    res = _purge(h)
    assert (res.purged_count, res.purged_through_event_id) == (old, old)
    verdict = _verify(h)
    assert verdict.ok and verdict.purged_through_event_id == old
