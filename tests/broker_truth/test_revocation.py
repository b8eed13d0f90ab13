"""Approvals die with a close: the real policy, writer and simulator, on SQLite and on two
replicas sharing PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from livegate_api.v1 import common_pb2, policy_pb2
from tests.broker_truth.flows import Desk
from tests.policy.harness import new_key
from tests.support.grpc_clients import reopen
from tests.support.stack import Replica

pytestmark = pytest.mark.timeout(120)

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED


def _set(replica: Replica, state: int, reason: str) -> None:
    replica.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=state, reason=reason), timeout=30
    )


def _reopen(desk: Desk, replica: Replica) -> None:
    """The guarded reopen: the operator requests, a second operator confirms."""
    reopen(replica.operator, desk.stack.pki, replica.service.port, "drill over")


_KEY_EVENT = sa.text(
    "SELECT outcome, reason, gate_step FROM audit_events WHERE idempotency_key = :k "
    "ORDER BY event_id DESC LIMIT 1"
)
_CLOSE_EVENT = sa.text(
    "SELECT detail FROM audit_events WHERE method = 'SetKillSwitch' "
    # A close's event lists its revocations; a reopen request (also CLOSED) has none.
    "AND kill_switch_state = 'CLOSED' AND detail LIKE '%revoked_approvals%' "
    "ORDER BY event_id DESC LIMIT 1"
)


def _key_event(desk: Desk, key: str) -> Any:
    with desk.engine.connect() as conn:
        return conn.execute(_KEY_EVENT, {"k": key}).one()


def _close_detail(desk: Desk) -> dict[str, str]:
    with desk.engine.connect() as conn:
        return dict(json.loads(conn.execute(_CLOSE_EVENT).scalar_one()))


def test_submit_when_approved_before_a_close_then_revoked_after_the_reopen(desk: Desk) -> None:
    policy = desk.stack.policy
    before = desk.approved()
    _set(policy, CLOSED, "drill: revoke")
    during = desk.approved()  # approved while closed: after the close, so it survives it
    _reopen(desk, policy)

    key = new_key()
    refused = desk.submit(*before, key)

    assert (refused.code, refused.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "APPROVAL_REVOKED",
    )
    assert refused.metadata["approval_id"] == before[1]
    assert desk.broker_orders(key) == []
    event = _key_event(desk, key)
    assert (event.outcome, event.reason, event.gate_step) == ("REFUSED", "APPROVAL_REVOKED", 8)
    detail = _close_detail(desk)
    assert before[1] in detail["revoked_approval_ids"].split(",")
    assert before[0] in detail["revoked_preview_ids"].split(",")
    assert during[1] not in detail["revoked_approval_ids"]
    # The caller previews and approves again; an approval granted while closed still works.
    assert desk.submit(*desk.approved(), new_key()).ok
    assert desk.submit(*during, new_key()).ok


def test_submit_bracket_when_its_approvals_predate_a_close_then_revoked(desk: Desk) -> None:
    previews, approvals = desk.bracket_approved()
    _set(desk.stack.policy, CLOSED, "drill: revoke a bracket")
    _reopen(desk, desk.stack.policy)

    key = new_key()
    refused = desk.bracket(previews, approvals, key)

    assert (refused.code, refused.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "APPROVAL_REVOKED",
    )
    assert desk.broker_orders(key) == []
    assert set(approvals) <= set(_close_detail(desk)["revoked_approval_ids"].split(","))


def test_close_when_approvals_are_used_or_expired_then_only_outstanding_ones_revoked(
    desk: Desk,
) -> None:
    used = desk.approved()
    assert desk.submit(*used, new_key()).ok
    outstanding = desk.approved()
    _set(desk.stack.policy, CLOSED, "drill: what is revoked")
    _reopen(desk, desk.stack.policy)

    detail = _close_detail(desk)

    assert detail["revoked_approval_ids"].split(",") == [outstanding[1]]
    assert detail["revoked_approvals"] == "1"
    assert desk.approval_state(used[1]) == "consumed"


def test_submit_when_a_close_on_another_replica_revoked_it_then_refused_on_postgres(
    two_replicas: Desk,
) -> None:
    desk = two_replicas
    a, b = desk.stack.replicas
    approved = desk.approved(replica=a)
    _set(b, CLOSED, "drill: close through b")
    _reopen(desk, b)

    key = new_key()
    refused = desk.submit(*approved, key, replica=a)

    assert (refused.code, refused.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "APPROVAL_REVOKED",
    )
    assert desk.broker_orders(key) == []
    event = _key_event(desk, key)
    assert (event.reason, event.gate_step) == ("APPROVAL_REVOKED", 8)
    assert approved[1] in _close_detail(desk)["revoked_approval_ids"].split(",")
    assert desk.submit(*desk.approved(replica=b), new_key(), replica=a).ok
