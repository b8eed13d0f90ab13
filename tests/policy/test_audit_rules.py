"""Unit tests of the audit rules: keyring, chain walk, anchors, refusal folding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy_service.domain import model as m
from policy_service.domain.audit import ROTATION_METHOD, event_link
from policy_service.domain.audit_anchor import read_anchors, sign
from policy_service.domain.audit_keys import Keyring, KeyringError, new_keyring
from policy_service.domain.audit_verify import ChainWalk
from policy_service.domain.refusal_flood import MAX_TRACKED, RefusalFlood


def _event(i: int, prev: str, key_id: str, method: str = "SubmitOrder", **detail: str) -> dict:
    return {
        "event_id": i, "occurred_at_us": i, "method": method, "request_id": "r",
        "principal": "p", "account_id_hash": "", "preview_id": "", "approval_id": "",
        "idempotency_key": "", "broker_order_id": 0, "kill_switch_state": "", "risk_policy_id": "",
        "outcome": "RECORDED", "status_code": "OK", "reason": "", "gate_step": 0,
        "detail": json.dumps(detail, sort_keys=True, separators=(",", ":")), "prev_hash": prev,
        "key_id": key_id,
    }  # fmt: skip


def _chain(keyring: Keyring, specs: list[tuple[str, str, dict[str, str]]]) -> list[dict[str, Any]]:
    events, prev = [], ""
    for i, (key_id, method, detail) in enumerate(specs, start=1):
        event = _event(i, prev, key_id, method, **detail)
        event["hash"] = prev = event_link(keyring.keys[key_id], event)
        events.append(event)
    return events


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"current": "k1", "keys": {"k1": "ab" * 16}}, "at least 32 bytes"),
        ({"current": "k1", "keys": {"k1": "zz" * 32}}, "at least 32 bytes"),
        ({"current": "k 1", "keys": {"k 1": "ab" * 32}}, "'current'"),
        ({"current": "k2", "keys": {"k1": "ab" * 32}}, "not in the keyring"),
        ({"current": "k1", "keys": {}}, "'keys'"),
    ],
)
def test_keyring_when_document_malformed_then_refused_naming_why(
    doc: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(KeyringError, match=fragment):
        Keyring.from_document(doc)


def test_walk_when_key_changes_without_a_rotation_event_then_unrecorded_switch() -> None:
    keyring = new_keyring().rotated("k2")
    events = _chain(keyring, [("k1", "X", {}), ("k2", "X", {})])
    problem = ChainWalk(keyring).feed_all(events)
    assert problem is not None
    assert (problem.code, problem.event_id) == ("AUDIT_KEY_SWITCH_UNRECORDED", 2)


def test_walk_when_rotation_names_the_old_key_and_link_then_verifies() -> None:
    keyring = new_keyring().rotated("k2")
    first = _chain(keyring, [("k1", "X", {})])[0]
    rotation = _event(2, first["hash"], "k2", ROTATION_METHOD,
                      previous_key_id="k1", previous_link=first["hash"])  # fmt: skip
    rotation["hash"] = event_link(keyring.keys["k2"], rotation)
    walk = ChainWalk(keyring)
    assert walk.feed_all([first, rotation]) is None
    assert walk.finish(2, rotation["hash"], 0, "") is None
    assert walk.key_ids == ["k1", "k2"]


def test_anchors_when_last_line_is_cut_short_then_it_is_skipped_not_invalid() -> None:
    keyring = new_keyring()
    one = sign(keyring, None, 5, "a" * 64, "k1", 10)
    two = sign(keyring, one, 9, "b" * 64, "k1", 20)
    reading = read_anchors([one.to_line(), two.to_line()[:-9]], keyring)
    assert reading.invalid is None and reading.latest == one


def test_anchors_when_a_line_is_missing_in_the_middle_then_invalid() -> None:
    keyring = new_keyring()
    one = sign(keyring, None, 5, "a" * 64, "k1", 10)
    two = sign(keyring, one, 9, "b" * 64, "k1", 20)
    three = sign(keyring, two, 12, "c" * 64, "k1", 30)
    reading = read_anchors([one.to_line(), three.to_line()], keyring)
    assert reading.invalid is not None and reading.invalid.code == "AUDIT_ANCHOR_INVALID"
    assert reading.latest == one


def _call(principal: str = "alice", method: str = "SubmitOrder", rid: str = "r") -> m.Call:
    return m.Call(method, rid, principal, frozenset())


DENIAL = m.Denial("KILL_SWITCH_CLOSED", "FAILED_PRECONDITION", 6, "closed")


def test_flood_when_interval_is_zero_then_every_refusal_is_admitted() -> None:
    flood = RefusalFlood(interval_us=0, limit_per_min=0)
    assert all(flood.admit(_call(), DENIAL, i) for i in range(50))
    assert flood.due(10**12) == []


def test_flood_when_sources_exceed_what_is_tracked_then_oldest_window_is_summarised() -> None:
    flood = RefusalFlood(interval_us=10_000_000, limit_per_min=0)
    assert flood.admit(_call("first"), DENIAL, 0)
    assert not flood.admit(_call("first", rid="r2"), DENIAL, 1)
    for i in range(MAX_TRACKED):
        flood.admit(_call(f"p{i}"), DENIAL, 2)
    (summary,) = flood.due(3)  # "first" was pushed out early, its count intact
    assert (summary.window.source, summary.window.folded) == ("first", 1)


def test_flood_when_limit_reached_then_limited_except_the_kill_switch() -> None:
    flood = RefusalFlood(interval_us=10_000_000, limit_per_min=3)
    for i in range(3):
        flood.admit(_call(rid=f"r{i}"), DENIAL, i)
    denial = flood.limited(_call(), 10)
    assert denial is not None and (denial.reason, denial.code) == (
        "REFUSAL_RATE_EXCEEDED",
        "RESOURCE_EXHAUSTED",
    )
    assert flood.limited(_call(method="SetKillSwitch"), 10) is None
    assert flood.limited(_call(), 60_000_001) is None  # a new minute
