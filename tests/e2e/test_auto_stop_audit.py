"""Automatic stop (c): the audit store failing a write closes the switch (replica and writer
at once; the close is stored, with its evidence, once the store takes writes again)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from livegate_common.auto_stop_bounds import audit_write_failure_s
from policy_service.domain import model as m
from tests.e2e.auto_stops_support import (
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
from tests.support.db_faults import sqlite_immutable
from tests.support.net import wait_until
from tests.support.stack import Stack
from tests.support.vault import DevVault

ON = {"auto_stops.audit_write_failure.enabled": True}
BOUND_S = audit_write_failure_s()


def _submit_while_unwritable(stack: Stack, approved: tuple[str, str]) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        stack.submit(*approved)
    assert reason_of(refused.value) == "AUDIT_UNAVAILABLE"


def test_audit_write_failing_when_trigger_on_then_switch_closes_within_bound_and_is_audited(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    with stack_with(dev_pki, tmp_path, stack_vault, policy=ON) as stack:
        approved = stack.approved()
        with sqlite_immutable(tmp_path / "policy.db"):
            _submit_while_unwritable(stack, approved)
            # Closed in this replica (held in memory) and at the writer, the store failing.
            assert closed_within(stack, BOUND_S)
            # The close's own store is tried after the writer answered: on a loaded machine it
            # may not have been tried yet. Keep the store unwritable until that try failed, or
            # the close is stored on time and there is nothing late to check.
            latch = stack.policy.service.gate.latch
            assert wait_until(lambda: bool(latch.failed()), 10)
        store = stack.policy.service.store
        assert wait_until(lambda: store.kill_switch().state is m.SwitchState.CLOSED, 10)

        close = recorded_close(stack, "audit_write_failure")
        assert close.detail["evidence.error_class"] == "sqlite3.OperationalError"
        assert close.detail["evidence.method"] == "SubmitOrder"
        assert close.detail["evidence.refusal_reason"] == "AUDIT_UNAVAILABLE"
        assert close.detail["stored_late"] == "true"
        assert close.detail["reason"].startswith("AUTO_STOP_AUDIT_WRITE_FAILURE: ")
        assert_submit_refused_by_switch(stack)


def test_audit_write_failing_when_trigger_off_then_logged_and_switch_stays_open(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, caplog: pytest.LogCaptureFixture
) -> None:
    off = {"auto_stops.audit_write_failure.enabled": False}
    with stack_with(dev_pki, tmp_path, stack_vault, policy=off) as stack:
        approved = stack.approved()
        with sqlite_immutable(tmp_path / "policy.db"):
            _submit_while_unwritable(stack, approved)
            assert stays_open(stack, BOUND_S)
        assert disabled_trigger_logged(caplog, "audit_write_failure")
        assert auto_closes(stack, "audit_write_failure") == []
        assert_submit_executes(stack)
