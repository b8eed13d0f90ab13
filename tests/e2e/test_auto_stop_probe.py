"""Automatic stop (d): the writer's permission probe no longer matching its role closes the
switch; a probe that matches again does not reopen it (the guarded reopen does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from livegate_common.auto_stop_bounds import probe_mismatch_s
from tests.e2e.auto_stops_support import (
    POLL_S,
    assert_submit_executes,
    assert_submit_refused_by_switch,
    auto_closes,
    closed_within,
    disabled_trigger_logged,
    recorded_close,
    stack_with,
)
from tests.support.grpc_clients import reopen
from tests.support.net import wait_until
from tests.support.stack import Stack
from tests.support.vault import DevVault
from writer_service.probe import Verdict

PROBE_INTERVAL_S = 1.0
PROBE_TIMEOUT_S = 3.0  # tests.support.writers' broker.probe_timeout_s
ON = {"auto_stops.probe_mismatch.enabled": True, "broker.probe_interval_s": PROBE_INTERVAL_S}
BOUND_S = probe_mismatch_s(PROBE_INTERVAL_S, PROBE_TIMEOUT_S, POLL_S)


def _verdict_is(stack: Stack, verdict: Verdict) -> bool:
    return wait_until(lambda: stack.writer.permission.current().verdict is verdict, BOUND_S)


def test_probe_mismatch_when_gateway_turns_read_only_then_switch_closes_within_bound(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    with stack_with(dev_pki, tmp_path, stack_vault, writer=ON) as stack:
        stack.sim.set_read_only(True)
        assert closed_within(stack, BOUND_S)
        close = recorded_close(stack, "probe_mismatch")
        assert close.detail["evidence.role"] == "W"
        assert close.detail["evidence.verdict"] != Verdict.MATCHES_ROLE.value
        assert close.detail["evidence.probe_trigger"] == "periodic"
        assert "321" in close.detail["evidence.failed_checks"]
        assert close.detail["reason"].startswith("AUTO_STOP_PROBE_MISMATCH: ")
        assert_submit_refused_by_switch(stack)

        # The gateway trades again: the probe matches, the switch stays closed until the
        # guarded reopen, and the mismatch does not trip twice.
        stack.sim.set_read_only(False)
        assert _verdict_is(stack, Verdict.MATCHES_ROLE)
        assert_submit_refused_by_switch(stack)
        reopen(stack.policy.operator, stack.pki, stack.policy.port)
        assert_submit_executes(stack)
        assert len(auto_closes(stack, "probe_mismatch")) == 1


def test_probe_mismatch_when_trigger_off_then_logged_and_not_stopped(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, caplog: pytest.LogCaptureFixture
) -> None:
    off = {**ON, "auto_stops.probe_mismatch.enabled": False}
    with stack_with(dev_pki, tmp_path, stack_vault, writer=off) as stack:
        stack.sim.set_read_only(True)
        assert _verdict_is(stack, Verdict.MISMATCH)
        assert wait_until(lambda: disabled_trigger_logged(caplog, "probe_mismatch"), BOUND_S)
        stack.sim.set_read_only(False)
        assert _verdict_is(stack, Verdict.MATCHES_ROLE)
        # Without the automatic stop the writer holds writes only while unproven (as before):
        # the durable switch never closed and writes go through once proven again.
        assert auto_closes(stack, "probe_mismatch") == []
        assert wait_until(stack.writer.kill_switch.is_open, timeout_s=BOUND_S)
        assert_submit_executes(stack)
