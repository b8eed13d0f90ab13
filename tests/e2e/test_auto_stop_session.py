"""Automatic stop (b): the broker session lost longer than N seconds closes the switch; a
shorter blip (a reconnect) does not."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from livegate_common.auto_stop_bounds import session_lost_s
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
from tests.support.net import wait_until
from tests.support.stack import Stack
from tests.support.vault import DevVault

AFTER_S = 3.0
ON = {"auto_stops.session_lost.enabled": True, "auto_stops.session_lost.after_s": AFTER_S}
BOUND_S = session_lost_s(AFTER_S, POLL_S)


def _reconnected(stack: Stack) -> bool:
    return wait_until(stack.writer.session.is_connected, timeout_s=15)


def test_session_lost_when_longer_than_limit_then_switch_closes_within_bound_and_is_audited(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    with stack_with(dev_pki, tmp_path, stack_vault, writer=ON) as stack:
        stack.sim.go_down()
        try:
            assert closed_within(stack, BOUND_S)
        finally:
            stack.sim.come_back()
        assert _reconnected(stack)
        close = recorded_close(stack, "session_lost")
        assert float(close.detail["evidence.seconds_disconnected"]) >= AFTER_S
        assert close.detail["evidence.limit_s"] == f"{AFTER_S:g}"
        assert close.detail["reason"].startswith("AUTO_STOP_SESSION_LOST: ")
        # Back and reconciled, the writer stays closed: only the guarded reopen opens it.
        assert_submit_refused_by_switch(stack)


def test_session_blip_when_shorter_than_limit_then_seen_and_switch_stays_open(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="livegate.writer.auto_watch")
    with stack_with(dev_pki, tmp_path, stack_vault, writer=ON) as stack:
        for _ in range(2):  # two blips: each outage counts from its own start
            stack.sim.go_down()
            time.sleep(0.3)  # the writer tries again after 1 s: an outage of about 1 s
            stack.sim.come_back()
            assert _reconnected(stack)
        assert stays_open(stack, BOUND_S)
        # The watch saw both outages end, each shorter than the limit.
        back = [r for r in caplog.records if r.getMessage() == "broker session back"]
        assert len(back) == 2 and all(0 < getattr(r, "down_s", 0) < AFTER_S for r in back)
        assert auto_closes(stack, "session_lost") == []
        assert_submit_executes(stack)


def test_session_lost_when_trigger_off_then_logged_and_switch_stays_open(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, caplog: pytest.LogCaptureFixture
) -> None:
    off = {**ON, "auto_stops.session_lost.enabled": False}
    with stack_with(dev_pki, tmp_path, stack_vault, writer=off) as stack:
        stack.sim.go_down()
        try:
            assert wait_until(
                lambda: disabled_trigger_logged(caplog, "session_lost"), timeout_s=BOUND_S
            )
        finally:
            stack.sim.come_back()
        assert _reconnected(stack)
        assert stays_open(stack, BOUND_S)
        assert auto_closes(stack, "session_lost") == []
        assert_submit_executes(stack)
