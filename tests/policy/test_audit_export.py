"""Exports verify offline with the keyring alone; a purge records its manifest's digest, so a
replaced export or a purge pointer moved past it shows in VerifyAudit."""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest

from livegate_api.v1 import policy_pb2
from policy_service.domain.audit import event_hash, event_link
from policy_service.domain.audit_manifest import FORMAT
from tests.policy.attacker import Attacker
from tests.policy.conftest import MakePolicy
from tests.policy.harness import FakeClock, Harness, reason_of

EIGHT_YEARS_S = 8 * 365 * 86400


def _keyring(h: Harness) -> Path:
    """The harness's keyring file, beside the anchor file in the service's data directory."""
    return h.service.anchors.file.path.parent / "audit-keyring.json"


def _cli(*args: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "livegate_cli.main", "audit", "verify-export", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        report = json.loads(done.stdout) if done.stdout.strip() else {}
    except ValueError:
        report = {}
    return done.returncode, report, done.stderr


@pytest.fixture()
def exported(policy: Harness) -> tuple[Harness, policy_pb2.ExportAuditResponse]:
    policy.submit(*policy.approved())
    return policy, policy.operator.ExportAudit(policy_pb2.ExportAuditRequest())


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, events: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in events)
    path.write_text(text)


def test_verify_export_when_untouched_then_ok_offline(
    exported: tuple[Harness, policy_pb2.ExportAuditResponse],
) -> None:
    h, export = exported
    code, report, err = _cli(export.path, "--keyring", str(_keyring(h)))
    assert code == 0, err
    assert report["ok"] is True
    assert report["events_checked"] == export.event_count == 7
    assert report["key_ids"] == ["k1"]
    # Either file of the pair names the export.
    assert _cli(export.manifest_path, "--keyring", str(_keyring(h)))[0] == 0


def test_verify_export_when_an_event_in_the_file_is_edited_then_it_is_named(
    exported: tuple[Harness, policy_pb2.ExportAuditResponse],
) -> None:
    h, export = exported
    events = _lines(Path(export.path))
    events[2]["principal"] = "mallory"
    _write(Path(export.path), events)
    code, report, _ = _cli(export.path, "--keyring", str(_keyring(h)))
    assert (code, report["problem"], report["event_id"]) == (4, "AUDIT_LINK_MISMATCH", 3)


@pytest.mark.parametrize("how", ["sha256", "hmac-own-key"])
def test_verify_export_when_file_and_manifest_are_both_replaced_then_manifest_invalid(
    exported: tuple[Harness, policy_pb2.ExportAuditResponse], how: str
) -> None:
    h, export = exported
    forged_key = secrets.token_bytes(32)
    events = _lines(Path(export.path))
    events[2]["reason"] = "NOTHING"
    prev = events[0]["prev_hash"]
    for event in events:
        event["prev_hash"] = prev
        event["hash"] = prev = (
            event_hash(event) if how == "sha256" else event_link(forged_key, event)
        )
    _write(Path(export.path), events)
    manifest = json.loads(Path(export.manifest_path).read_text())
    data = Path(export.path).read_bytes()
    # Everything the forger can recompute, recomputed; the MAC it cannot.
    manifest.update(sha256=hashlib.sha256(data).hexdigest(), last_link=prev, format=FORMAT)
    manifest["mac"] = hashlib.sha256(json.dumps(manifest).encode()).hexdigest()
    Path(export.manifest_path).write_text(json.dumps(manifest))
    code, report, _ = _cli(export.path, "--keyring", str(_keyring(h)))
    assert (code, report["problem"], report["event_id"]) == (4, "AUDIT_MANIFEST_INVALID", 0)


def test_verify_export_when_file_swapped_for_a_shorter_one_then_it_does_not_verify(
    exported: tuple[Harness, policy_pb2.ExportAuditResponse],
) -> None:
    h, export = exported
    events = _lines(Path(export.path))
    _write(Path(export.path), events[:3])
    code, report, _ = _cli(export.path, "--keyring", str(_keyring(h)))
    assert (code, report["problem"], report["event_id"]) == (4, "AUDIT_CHAIN_TRUNCATED", 4)


def test_verify_export_when_keyring_is_readable_by_others_then_refused(
    exported: tuple[Harness, policy_pb2.ExportAuditResponse], tmp_path: Path
) -> None:
    h, export = exported
    loose = tmp_path / "keyring.json"
    loose.write_text(_keyring(h).read_text())
    loose.chmod(0o644)
    code, _, err = _cli(export.path, "--keyring", str(loose))
    assert code == 2 and "chmod 600" in err


def _old_events(make_policy: MakePolicy) -> Harness:
    clock = FakeClock(offset_s=-EIGHT_YEARS_S)
    h = make_policy(clock=clock)
    # The broker's trading sessions are those of the service's (moved) day.
    h.writer.servicer.state.reference.today_offset_s = -EIGHT_YEARS_S
    h.submit(*h.approved())
    clock.advance(EIGHT_YEARS_S)
    return h


def _verify(h: Harness) -> policy_pb2.VerifyAuditResponse:
    return h.approver.VerifyAudit(policy_pb2.VerifyAuditRequest())


def test_purge_when_exported_then_purge_event_records_manifest_digest_and_chain_verifies(
    make_policy: MakePolicy,
) -> None:
    h = _old_events(make_policy)
    export = h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    purged = h.operator.PurgeAudit(policy_pb2.PurgeAuditRequest())
    assert purged.purged_count == 7 and purged.manifest_sha256 == export.manifest_sha256
    event = next(e for e in h.rows("audit_events") if e["event_id"] == purged.audit_event_id)
    detail = json.loads(event["detail"])
    assert detail["manifest_sha256"] == export.manifest_sha256
    assert detail["purged_through_event_id"] == "7"
    res = _verify(h)
    assert res.chain_state == policy_pb2.AUDIT_CHAIN_STATE_INTACT, res
    assert res.purged_through_event_id == 7


def test_verify_when_purged_export_manifest_replaced_then_the_purge_event_is_named(
    make_policy: MakePolicy,
) -> None:
    h = _old_events(make_policy)
    export = h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    purged = h.operator.PurgeAudit(policy_pb2.PurgeAuditRequest())
    manifest = json.loads(Path(export.manifest_path).read_text())
    manifest["event_count"] = 4
    Path(export.manifest_path).write_text(json.dumps(manifest))
    res = _verify(h)
    assert (res.problem, res.first_bad_event_id) == (
        "AUDIT_PURGE_EXPORT_MISMATCH",
        purged.audit_event_id,
    )


def test_verify_when_purged_export_file_replaced_then_the_purge_event_is_named(
    make_policy: MakePolicy,
) -> None:
    h = _old_events(make_policy)
    export = h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    purged = h.operator.PurgeAudit(policy_pb2.PurgeAuditRequest())
    assert _verify(h).chain_state == policy_pb2.AUDIT_CHAIN_STATE_INTACT
    # The manifest left as recorded; the purged events' file swapped for an edited copy.
    events = _lines(Path(export.path))
    events[2]["principal"] = "mallory"
    _write(Path(export.path), events)
    res = _verify(h)
    assert res.chain_state == policy_pb2.AUDIT_CHAIN_STATE_BROKEN, res
    assert (res.problem, res.first_bad_event_id) == (
        "AUDIT_PURGE_EXPORT_MISMATCH",
        purged.audit_event_id,
    )


def test_verify_when_purge_pointer_moved_past_the_recorded_purge_then_named(
    make_policy: MakePolicy,
) -> None:
    h = _old_events(make_policy)
    h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    h.operator.PurgeAudit(policy_pb2.PurgeAuditRequest())
    Attacker(h.db_url).move_purge_pointer(8)  # the export event, past the recorded purge at 7
    res = _verify(h)
    assert (res.problem, res.first_bad_event_id) == ("AUDIT_PURGE_UNRECORDED", 8)


def test_purge_when_export_file_edited_then_refused(make_policy: MakePolicy) -> None:
    h = _old_events(make_policy)
    export = h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    Path(export.path).write_text(Path(export.path).read_text().replace("EXECUTED", "REFUSED"))
    with pytest.raises(grpc.RpcError) as caught:
        h.operator.PurgeAudit(policy_pb2.PurgeAuditRequest())
    assert reason_of(caught.value) == "AUDIT_EXPORT_REQUIRED"
