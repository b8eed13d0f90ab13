"""One fuzzed PolicyService call and the checks on it: clear status, no state but audit."""

from __future__ import annotations

import enum
import time
from typing import Any

import grpc

from livegate_api.v1 import policy_pb2
from livegate_common.errors import error_info
from tests.fuzz.checks import assert_clear_refusal, assert_serving, invoke
from tests.fuzz.policy_target import SWITCH_TABLES, PolicyTarget

# DESIGN.md: steps 1-9 write nothing but audit; step 10 inserts the durable pending key.
PENDING_STEP = 10
# The one refusal that still acts: a close whose text step 2 refused closes all the same
# (a close must never be stopped by its reason's text), and says so.
CLOSED_ANYWAY = ("SetKillSwitch", "KILL_SWITCH_CLOSED_TEXT_REFUSED")


class OnSuccess(enum.Enum):
    """What a call that succeeds may change."""

    NOTHING = "nothing"  # reads: neither state nor audit
    PREVIEWS = "previews"  # previews grow, one RECORDED audit event
    APPROVALS = "approvals"  # approvals grow, one RECORDED audit event
    ANYTHING = "anything"  # live writes, the kill switch, exports


def exercise(
    target: PolicyTarget, identity: str, method: str, request: Any, on_success: OnSuccess
) -> Any:
    """Call METHOD as IDENTITY and check what it left behind; return the response or None."""
    before, audit_before = target.state(), target.audit_count()
    response, err = invoke(getattr(target.stub(identity), method), request)
    after, audit_after = target.state(), target.audit_count()
    if err is not None:
        reason = assert_clear_refusal(err)
        if (method, reason) == CLOSED_ANYWAY:
            _check_closed_anyway(target, err, before, after, audit_after - audit_before)
            return None
        last = target.last_audit()
        assert (last["method"], last["reason"]) == (method, reason)
        if _gate_step(err) >= PENDING_STEP:
            # Past step 9 the key is durable by design (a lost writer answer stays pending so a
            # retry settles it); everything a preview or the switch holds is still untouched.
            kept = ("previews", "kill_switch", "kill_switch_history", "audit_exports")
            assert {k: after[k] for k in kept} == {k: before[k] for k in kept}, method
            return None
        assert after == before, f"{method} refused with {reason} but changed state"
        # Steps 1-9 write nothing but the refusal's one audit event.
        assert audit_after == audit_before + 1, (method, reason, audit_before, audit_after)
        assert last["outcome"] == "REFUSED"
        return None
    _check_success(method, on_success, before, after, audit_before, audit_after)
    return response


def _check_closed_anyway(
    target: PolicyTarget,
    err: grpc.RpcError,
    before: dict[str, Any],
    after: dict[str, Any],
    events_added: int,
) -> None:
    """The close happened, whole: the switch closed, every approval still usable revoked,
    its event (and a cancel-all's, when asked) carrying the refusal, nothing else changed."""
    info = error_info(err)
    assert info is not None
    assert after["kill_switch"][0]["state"] == "CLOSED"
    assert len(after["kill_switch_history"]) == len(before["kill_switch_history"]) + 1
    _check_revoked_by_close(before["approvals"], after["approvals"])
    untouched = (*SWITCH_TABLES, "approvals")
    unchanged = {k: v for k, v in after.items() if k not in untouched}
    assert unchanged == {k: v for k, v in before.items() if k not in untouched}
    assert events_added in (1, 2)
    event_id = int(info.metadata["audit_event_id"])
    [event] = [e for e in target.harness.rows("audit_events") if e["event_id"] == event_id]
    assert (event["method"], event["outcome"], event["reason"]) == (
        "SetKillSwitch",
        "RECORDED",
        info.reason,
    )


def _check_revoked_by_close(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """A close revokes, at one instant, every approval nobody consumed or revoked that has
    not expired, and changes no other column (issue 18: nothing approved before a close is
    spendable after it)."""
    now_us = time.time_ns() // 1000
    # Row order is the database's: PostgreSQL moves a row it updated.
    before, after = (sorted(rows, key=lambda a: str(a["approval_id"])) for rows in (before, after))
    assert [a["approval_id"] for a in after] == [b["approval_id"] for b in before]
    stamps = set()
    for old, new in zip(before, after, strict=True):
        rest = {k: v for k, v in new.items() if k != "revoked_at_us"}
        assert rest == {k: v for k, v in old.items() if k != "revoked_at_us"}, old["approval_id"]
        if old["revoked_at_us"] is not None or old["consumed_at_us"] is not None:
            assert new["revoked_at_us"] == old["revoked_at_us"], old["approval_id"]
        elif new["revoked_at_us"] is None:
            assert new["expires_at_us"] <= now_us, ("usable after a close", old["approval_id"])
        else:
            assert new["expires_at_us"] > new["revoked_at_us"], old["approval_id"]
            stamps.add(new["revoked_at_us"])
    assert len(stamps) <= 1, stamps


def _gate_step(err: grpc.RpcError) -> int:
    info = error_info(err)
    return int(info.metadata.get("gate_step", "0")) if info is not None else 0


def _check_success(
    method: str,
    on_success: OnSuccess,
    before: dict[str, Any],
    after: dict[str, Any],
    audit_before: int,
    audit_after: int,
) -> None:
    if on_success is OnSuccess.NOTHING:
        assert after == before and audit_after == audit_before, method
    elif on_success in (OnSuccess.PREVIEWS, OnSuccess.APPROVALS):
        table = on_success.value
        grown = {k: v for k, v in after.items() if k != table}
        assert grown == {k: v for k, v in before.items() if k != table}, method
        assert len(after[table]) > len(before[table]), method
        assert audit_after == audit_before + 1, method


def assert_chain_verifies(target: PolicyTarget) -> None:
    """After a run: the service answers, and the audit hash chain still verifies."""
    assert_serving(target.harness.channels[0])
    verdict = target.harness.operator.VerifyAudit(policy_pb2.VerifyAuditRequest(), timeout=30)
    assert verdict.ok, verdict
    assert verdict.events_checked == target.audit_count()
