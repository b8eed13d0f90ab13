"""GetLiveStatus: the conditions live trading rests on, each with pass/fail and why."""

from __future__ import annotations

from typing import Any

from livegate_api.v1 import policy_pb2
from tests.policy.fake_writer import WHAT_IF_REFUSED
from tests.policy.harness import Harness


def _conditions(h: Harness) -> dict[str, policy_pb2.EnablementCondition]:
    status = h.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    return {c.name: c for c in status.conditions}


def test_live_status_when_live_with_four_eyes_then_four_eyes_shows_as_passed(
    policy: Harness,
) -> None:
    four_eyes = _conditions(policy)["approvals.four_eyes"]
    assert four_eyes.passed
    assert "approvals.four_eyes=true" in four_eyes.detail


def test_live_status_when_four_eyes_off_on_a_paper_stack_then_condition_fails(
    make_policy: Any,
) -> None:
    h: Harness = make_policy(
        open_switch=False,
        overrides={
            "live_trading.enabled": False,
            "safety.live_trading_enabled": False,
            "approvals.four_eyes": False,
        },
    )
    four_eyes = _conditions(h)["approvals.four_eyes"]
    assert not four_eyes.passed
    assert "approvals.four_eyes=false" in four_eyes.detail


def test_live_status_when_writer_gateway_refuses_what_ifs_then_permission_fails_with_evidence(
    policy: Harness,
) -> None:
    policy.writer.servicer.state.gateway = WHAT_IF_REFUSED  # a W writer's gateway, read-only
    permission = _conditions(policy)["writer.permission"]
    assert not permission.passed
    assert "verdict=PROBE_VERDICT_MISMATCH" in permission.detail
    assert "probed_at=" in permission.detail
    assert "what_if: error 321" in permission.detail
