"""Tampering by someone who can write the database but holds no audit key: each is caught,
by the event it names, on SQLite and PostgreSQL; the first break found closes the switch."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.attacker import Attacker
from tests.policy.conftest import MakePolicy
from tests.policy.fake_writer import RunningFakeWriter
from tests.policy.harness import FakeClock, Harness, built
from tests.support.net import wait_until


def _verify(h: Harness) -> policy_pb2.VerifyAuditResponse:
    return h.approver.VerifyAudit(policy_pb2.VerifyAuditRequest())


def _broken(res: policy_pb2.VerifyAuditResponse) -> tuple[bool, str, int]:
    assert res.chain_state in (
        policy_pb2.AUDIT_CHAIN_STATE_BROKEN,
        policy_pb2.AUDIT_CHAIN_STATE_INTACT,
    )
    return (
        res.chain_state == policy_pb2.AUDIT_CHAIN_STATE_BROKEN,
        res.problem,
        res.first_bad_event_id,
    )


@pytest.fixture()
def trail(policy: Harness) -> Harness:
    """Seven events (checklist acknowledged, reopen requested and confirmed, preview, approval,
    pending, executed), anchored."""
    policy.submit(*policy.approved())
    assert policy.count("audit_events") == 7
    assert policy.service.anchors.flush() is not None
    res = _verify(policy)
    assert res.ok, res
    return policy


def test_anchor_when_written_then_file_line_log_line_and_gauge_name_the_event(
    policy: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    policy.submit(*policy.approved())
    with caplog.at_level(logging.INFO, logger="livegate.audit.anchor"):
        anchor = policy.service.anchors.flush()
    assert anchor is not None and anchor.event_id == 7
    path = policy.service.anchors.file.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text().splitlines()[-1])["mac"] == anchor.mac
    (record,) = [r for r in caplog.records if r.getMessage() == "audit anchor"]
    assert (record.event_id, record.link) == (7, anchor.link)  # type: ignore[attr-defined]
    assert REGISTRY.get_sample_value("livegate_audit_anchored_event_id") == 7


def test_verify_when_chain_untouched_then_ok_intact_and_anchored(trail: Harness) -> None:
    res = _verify(trail)
    assert (res.ok, res.chain_state, res.anchor_state) == (
        True,
        policy_pb2.AUDIT_CHAIN_STATE_INTACT,
        policy_pb2.AUDIT_ANCHOR_STATE_CURRENT,
    )
    assert (res.events_checked, res.head_event_id, res.anchored_event_id) == (7, 7, 7)
    assert list(res.key_ids) == ["k1"]


def test_verify_when_a_field_is_edited_then_its_link_names_it(trail: Harness) -> None:
    Attacker(trail.db_url).edit(3, "principal", "mallory")
    assert _broken(_verify(trail)) == (True, "AUDIT_LINK_MISMATCH", 3)


@pytest.mark.parametrize("how", ["sha256", "hmac-own-key"])
def test_verify_when_edited_and_every_later_link_recomputed_without_the_key_then_edit_named(
    trail: Harness, how: str
) -> None:
    attacker = Attacker(trail.db_url)
    attacker.edit(3, "reason", "NOTHING")
    attacker.relink(3, how)
    assert _broken(_verify(trail)) == (True, "AUDIT_LINK_MISMATCH", 3)


def test_verify_when_edited_events_are_passed_off_as_unkeyed_then_downgrade_named(
    trail: Harness,
) -> None:
    attacker = Attacker(trail.db_url)
    attacker.edit(3, "reason", "NOTHING")
    for event_id in range(3, 7):
        attacker.edit(event_id, "key_id", "")
    attacker.relink(3, "sha256")  # the pre-key chain's own formula, which anyone can compute
    assert _broken(_verify(trail)) == (True, "AUDIT_KEY_DOWNGRADE", 3)


def test_verify_when_an_event_is_deleted_in_the_middle_then_the_gap_names_it(
    trail: Harness,
) -> None:
    Attacker(trail.db_url).delete(3)
    assert _broken(_verify(trail)) == (True, "AUDIT_CHAIN_GAP", 3)


def test_verify_when_newest_events_deleted_and_head_moved_back_then_first_missing_named(
    trail: Harness,
) -> None:
    Attacker(trail.db_url).cut_after(3)
    assert _broken(_verify(trail)) == (True, "AUDIT_CHAIN_TRUNCATED", 4)


def test_verify_when_the_table_is_truncated_then_event_one_is_named(trail: Harness) -> None:
    Attacker(trail.db_url).truncate()
    assert _broken(_verify(trail)) == (True, "AUDIT_CHAIN_TRUNCATED", 1)


def test_verify_when_purge_pointer_moved_without_an_export_then_first_purged_named(
    trail: Harness,
) -> None:
    Attacker(trail.db_url).move_purge_pointer(2)
    assert _broken(_verify(trail)) == (True, "AUDIT_PURGE_UNRECORDED", 1)


def test_verify_when_an_old_anchor_is_replayed_with_the_chain_cut_to_it_then_rewound(
    trail: Harness,
) -> None:
    anchor_file = trail.service.anchors.file.path
    first_anchor = anchor_file.read_text().splitlines(keepends=True)
    trail.submit(*trail.approved())  # events 8..11
    assert trail.service.anchors.flush() is not None
    assert _verify(trail).ok
    # A consistent older state: chain cut back to the first anchor, the file to its line.
    Attacker(trail.db_url).cut_after(7)
    anchor_file.write_text("".join(first_anchor))
    res = _verify(trail)
    assert _broken(res) == (True, "AUDIT_ANCHOR_REWOUND", 8)
    assert res.anchor_state == policy_pb2.AUDIT_ANCHOR_STATE_REWOUND


def test_verify_when_an_anchor_line_is_edited_then_anchors_invalid(trail: Harness) -> None:
    anchor_file = trail.service.anchors.file.path
    anchor_file.write_text(anchor_file.read_text().replace('"event_id":7', '"event_id":3'))
    res = _verify(trail)
    assert _broken(res)[:2] == (True, "AUDIT_ANCHOR_INVALID")
    assert res.anchor_state == policy_pb2.AUDIT_ANCHOR_STATE_INVALID


def test_verify_when_broken_then_kill_switch_closed_writer_closed_and_close_audited(
    trail: Harness,
) -> None:
    Attacker(trail.db_url).edit(4, "outcome", "REFUSED")
    assert _broken(_verify(trail)) == (True, "AUDIT_LINK_MISMATCH", 4)
    switch = trail.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest())
    assert switch.state == common_pb2.KILL_SWITCH_STATE_CLOSED
    assert "AUDIT_LINK_MISMATCH at event 4" in switch.reason
    closes = [c for c in trail.writer.servicer.calls("SetKillSwitch") if c.reason == switch.reason]
    assert closes and closes[-1].state == common_pb2.KILL_SWITCH_STATE_CLOSED
    last = trail.last_audit()
    assert (last["method"], last["principal"]) == ("AuditVerify", "livegate-policy")
    # The same break again does not close it again (an operator may have reopened knowingly).
    before = len(trail.writer.servicer.calls("SetKillSwitch"))
    _verify(trail)
    assert len([c for c in trail.writer.servicer.calls("SetKillSwitch")[before:] if
                c.reason == switch.reason]) == 0  # fmt: skip


@pytest.fixture()
def restartable(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, db_url: str
) -> Iterator[tuple[ExitStack, Path]]:
    with ExitStack() as stack:
        yield stack, tmp_path / "policy"


@pytest.mark.parametrize("tamper", ["cut_after_3", "truncate"])
def test_verify_when_tampered_while_the_service_was_down_then_its_anchor_file_catches_it(
    restartable: tuple[ExitStack, Path],
    dev_pki: Path,
    writer: RunningFakeWriter,
    db_url: str,
    tamper: str,
) -> None:
    stack, data = restartable
    with built(dev_pki, data, writer, db_url) as first:
        first.open_switch()
        first.submit(*first.approved())
    # Stopped: its last appends were anchored on the way out. Nothing of it is in memory now.
    attacker = Attacker(db_url)
    if tamper == "truncate":
        attacker.truncate()
    else:
        attacker.cut_after(3)
    second = stack.enter_context(built(dev_pki, data, writer, db_url))
    # Its check at start found it, before anyone asked: the switch is closed.
    assert wait_until(
        lambda: second.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest()).reason.startswith(
            "AUDIT_CHAIN_BROKEN: AUDIT_CHAIN_TRUNCATED"
        ),
        timeout_s=30,
    )
    res = _verify(second)
    assert _broken(res) == (True, "AUDIT_CHAIN_TRUNCATED", 1 if tamper == "truncate" else 4)


def test_verify_when_export_made_and_chain_intact_then_purge_event_links_manifest(
    make_policy: MakePolicy,
) -> None:
    h = make_policy()
    h.submit(*h.approved())
    export = h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    assert export.manifest_sha256 and list(export.key_ids) == ["k1"]
    assert _verify(h).chain_state == policy_pb2.AUDIT_CHAIN_STATE_INTACT


# Anchors that never come (or stop coming) leave the tail unvouched for: not broken, not ok.
SLOW_ANCHORS = {"audit.anchor_every_events": 1000, "audit.anchor_every_s": 3600}
PAST_GRACE_S = 2 * 3600 + 2


def test_verify_when_no_anchor_was_ever_written_and_events_are_old_then_missing_not_ok(
    make_policy: MakePolicy,
) -> None:
    clock = FakeClock()
    h = make_policy(overrides=SLOW_ANCHORS, clock=clock)
    h.submit(*h.approved())
    assert not h.service.anchors.file.path.exists()  # nothing anchored yet
    clock.advance(PAST_GRACE_S)
    res = _verify(h)
    assert (res.ok, res.chain_state, res.anchor_state, res.problem) == (
        False,
        policy_pb2.AUDIT_CHAIN_STATE_INTACT,
        policy_pb2.AUDIT_ANCHOR_STATE_MISSING,
        "AUDIT_ANCHOR_MISSING",
    )


def test_verify_when_appends_outrun_the_newest_anchor_past_grace_then_behind_not_ok(
    make_policy: MakePolicy,
) -> None:
    clock = FakeClock()
    h = make_policy(overrides=SLOW_ANCHORS, clock=clock)
    assert h.service.anchors.flush() is not None  # the switch's opening, anchored
    h.submit(*h.approved())
    clock.advance(PAST_GRACE_S)
    res = _verify(h)
    assert (res.ok, res.chain_state, res.anchor_state, res.problem) == (
        False,
        policy_pb2.AUDIT_CHAIN_STATE_INTACT,
        policy_pb2.AUDIT_ANCHOR_STATE_BEHIND,
        "AUDIT_ANCHOR_BEHIND",
    )
    assert h.service.anchors.flush() is not None
    assert _verify(h).ok  # anchored again: current
