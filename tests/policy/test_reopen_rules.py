"""The guarded reopen's rules, without a server: who may confirm what, and until when."""

from __future__ import annotations

import pytest

from policy_service.domain import model as m
from policy_service.domain.reopen import ReopenRequest, confirm_denial, request_denial

NOW = 1_000_000_000
WINDOW = 300_000_000


def _pending(state: str = "PENDING", by: str = "alice", version: int = 7) -> ReopenRequest:
    return ReopenRequest("r1", by, "all clear", "rid-1", NOW, NOW + WINDOW, version, state)


def _call(principal: str) -> m.Call:
    return m.Call("ConfirmReopen", "rid-2", principal, frozenset({"killswitch.operate"}))


def test_confirm_when_another_operator_confirms_in_time_then_allowed() -> None:
    assert confirm_denial(_call("bob"), "r1", _pending(), NOW + WINDOW - 1, 7) is None


@pytest.mark.parametrize(
    ("principal", "pending", "now", "version", "reason", "state"),
    [
        ("alice", _pending(), NOW + 1, 7, "REOPEN_SAME_OPERATOR", ""),
        ("bob", _pending(), NOW + WINDOW, 7, "REOPEN_EXPIRED", ""),
        ("bob", None, NOW + 1, 7, "REOPEN_NOT_REQUESTED", "UNKNOWN"),
        ("bob", _pending("CANCELLED"), NOW + 1, 7, "REOPEN_NOT_REQUESTED", "CANCELLED"),
        ("bob", _pending("CONFIRMED"), NOW + 1, 7, "REOPEN_NOT_REQUESTED", "CONFIRMED"),
        ("bob", _pending(), NOW + 1, 8, "REOPEN_NOT_REQUESTED", "SWITCH_CHANGED"),
    ],
)
def test_confirm_when_a_rule_fails_then_refused_with_its_reason(
    principal: str,
    pending: ReopenRequest | None,
    now: int,
    version: int,
    reason: str,
    state: str,
) -> None:
    denial = confirm_denial(_call(principal), "r1", pending, now, version)
    assert denial is not None and denial.reason == reason
    assert denial.metadata["reopen_id"] == "r1"
    if state:
        assert denial.metadata["state"] == state


def test_request_when_one_is_pending_then_the_same_operator_and_another_are_told_apart() -> None:
    same = request_denial(_call("alice"), _pending())
    other = request_denial(_call("bob"), _pending())
    assert (same.reason, same.code) == ("REOPEN_SAME_OPERATOR", "PERMISSION_DENIED")
    assert (other.reason, other.code) == ("REOPEN_ALREADY_PENDING", "FAILED_PRECONDITION")


def test_live_when_expired_or_the_switch_moved_then_not_confirmable() -> None:
    pending = _pending()
    assert pending.live(NOW + 1, 7)
    assert not pending.live(NOW + WINDOW, 7)
    assert not pending.live(NOW + 1, 8)
    assert not _pending("SUPERSEDED").live(NOW + 1, 7)
