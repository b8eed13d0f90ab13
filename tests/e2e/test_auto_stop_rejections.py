"""Automatic stop (e): N broker rejections in a row close the switch; N-1 do not."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY

from livegate_common.auto_stop_bounds import broker_rejections_s
from tests.e2e.auto_stops_support import (
    POLL_S,
    assert_submit_executes,
    assert_submit_refused_by_switch,
    auto_closes,
    closed_within,
    disabled_trigger_logged,
    recorded_close,
    stack_with,
    stays_open,
)
from tests.policy.harness import reason_of
from tests.support.net import wait_until
from tests.support.stack import Replica, Stack
from tests.support.vault import DevVault

N = 3
ON = {"auto_stops.broker_rejections.enabled": True, "auto_stops.broker_rejections.count": N}
BOUND_S = broker_rejections_s(POLL_S)
REJECTION = "Order rejected - reason:test rejection"


def reject_submits(stack: Stack, count: int, replicas: list[Replica] | None = None) -> None:
    """COUNT submits the broker rejects (201), through REPLICAS in turn."""
    for i in range(count):
        replica = (replicas or [stack.policy])[i % len(replicas or [stack.policy])]
        approved = stack.approved(replica)
        stack.sim.reject_next_order(201, f"{REJECTION} {i}")
        with pytest.raises(grpc.RpcError) as refused:
            stack.submit(*approved, replica=replica)
        assert reason_of(refused.value) == "BROKER_REJECTED"


def _fired() -> tuple[float, float]:
    """The counters of this trigger: the writer's trips, the policy's closes (one process)."""
    labels = {"trigger": "broker_rejections"}
    return (
        REGISTRY.get_sample_value("livegate_writer_auto_stops_total", labels) or 0.0,
        REGISTRY.get_sample_value("livegate_auto_stops_total", labels) or 0.0,
    )


def test_broker_rejections_when_n_in_a_row_then_switch_closes_within_bound_and_is_audited(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    before = _fired()
    with stack_with(dev_pki, tmp_path, stack_vault, writer=ON) as stack:
        reject_submits(stack, N)
        assert closed_within(stack, BOUND_S)
        close = recorded_close(stack, "broker_rejections")
        # One trip at the writer, one close by the policy (counted right after it is stored).
        assert wait_until(lambda: _fired() == (before[0] + 1, before[1] + 1), timeout_s=5)
        assert close.detail["evidence.rejections"] == str(N)
        last = json.loads(close.detail["evidence.last_rejections"])
        assert [(r["operation"], r["broker_error_code"]) for r in last] == [("submit", "201")] * N
        assert [r["message"] for r in last] == [f"{REJECTION} {i}" for i in range(N)]
        assert close.detail["reason"].startswith("AUTO_STOP_BROKER_REJECTIONS: ")
        assert_submit_refused_by_switch(stack)


def test_broker_rejections_when_n_minus_one_then_an_accepted_write_resets_and_nothing_fires(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    with stack_with(dev_pki, tmp_path, stack_vault, writer=ON) as stack:
        reject_submits(stack, N - 1)
        assert_submit_executes(stack)
        reject_submits(stack, N - 1)
        assert stays_open(stack, BOUND_S)
        assert auto_closes(stack, "broker_rejections") == []
        # The count is of rejections in a row: one more makes N since the accepted write.
        reject_submits(stack, 1)
        assert closed_within(stack, BOUND_S)


def test_broker_rejections_when_trigger_off_then_logged_and_switch_stays_open(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, caplog: pytest.LogCaptureFixture
) -> None:
    off = {**ON, "auto_stops.broker_rejections.enabled": False}
    with stack_with(dev_pki, tmp_path, stack_vault, writer=off) as stack:
        reject_submits(stack, N)
        assert stays_open(stack, BOUND_S)
        assert disabled_trigger_logged(caplog, "broker_rejections")
        assert auto_closes(stack, "broker_rejections") == []
        assert_submit_executes(stack)
