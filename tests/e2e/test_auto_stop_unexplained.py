"""Automatic stop (a): an order at the broker that livegate did not place closes the switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from livegate_common.account_hash import account_hash
from livegate_common.auto_stop_bounds import unexplained_order_s
from tests.e2e.auto_stops_support import (
    POLL_S,
    assert_submit_executes,
    assert_submit_refused_by_switch,
    auto_closes,
    both_closed,
    closed_within,
    disabled_trigger_logged,
    recorded_close,
    stack_with,
    stays_open,
)
from tests.support.grpc_clients import reopen
from tests.support.net import wait_until
from tests.support.stack import BROKER_TIMEOUT_S, Stack
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT
from tests.writer.test_cancel_all import HAND_CLIENT_ID, place_by_hand

CHECK_S = 0.5
ON = {
    "auto_stops.unexplained_order.enabled": True,
    "auto_stops.unexplained_order.check_interval_s": CHECK_S,
}
BOUND_S = unexplained_order_s(CHECK_S, BROKER_TIMEOUT_S, POLL_S)


def test_order_placed_by_hand_when_trigger_on_then_switch_closes_within_bound_and_is_audited(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    with stack_with(dev_pki, tmp_path, stack_vault, writer=ON) as stack:
        assert_submit_executes(stack)
        place_by_hand(stack.sim)
        [hand] = [o for o in stack.sim.orders() if o.client_id == HAND_CLIENT_ID]

        assert closed_within(stack, BOUND_S)

        close = recorded_close(stack, "unexplained_order")
        assert close.detail["evidence.broker_order_ids"] == str(hand.order_id)
        hashed = account_hash(stack._hash_key.encode(), ACCOUNT)
        assert close.detail["evidence.account_id_hashes"] == hashed
        assert close.detail["auto_stop"] == "unexplained_order"
        assert close.reason == "" and close.outcome == "RECORDED"
        assert close.detail["reason"].startswith("AUTO_STOP_UNEXPLAINED_ORDER: ")
        assert close.detail["writer_state"] == "CONFIRMED_CLOSED"
        assert_submit_refused_by_switch(stack)

        # The guarded reopen opens it again; the order already reported does not trip twice.
        reopen(stack.policy.operator, stack.pki, stack.policy.port)
        assert stays_open(stack, 3 * CHECK_S + 2 * BROKER_TIMEOUT_S)
        assert_submit_executes(stack)
        assert len(auto_closes(stack, "unexplained_order")) == 1


def test_writer_start_when_order_by_hand_and_trigger_off_then_logged_and_switch_stays_open(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, caplog: pytest.LogCaptureFixture
) -> None:
    off = {**ON, "auto_stops.unexplained_order.enabled": False}
    with stack_with(dev_pki, tmp_path, stack_vault, writer=off) as stack:
        _restart_writer_with_order_by_hand(stack)
        # A writer starts closed; the policy's heartbeat opens it (nothing tripped).
        assert wait_until(lambda: stack.writer.kill_switch.is_open(), timeout_s=BOUND_S)
        assert stays_open(stack, BOUND_S)
        assert disabled_trigger_logged(caplog, "unexplained_order")
        assert auto_closes(stack, "unexplained_order") == []
        assert_submit_executes(stack)


def _restart_writer_with_order_by_hand(stack: Stack) -> None:
    """The writer stops, an order is placed by hand, the writer starts on the same port."""
    port = stack.writer.port
    stack.writer.stop()
    place_by_hand(stack.sim)
    stack.writer_overrides["server.listen"] = f"127.0.0.1:{port}"
    stack.start_writer()


def test_writer_start_when_order_by_hand_at_broker_then_it_trips_and_the_policy_records_it(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    """Unexplained orders at start trip (a live desk wants to know), and a trip the writer made
    while no policy replica ran is recorded by the next one to start."""
    with stack_with(dev_pki, tmp_path, stack_vault, writer=ON) as stack:
        stack.replicas.pop().close()
        _restart_writer_with_order_by_hand(stack)
        assert stack.writer.auto_stops is not None
        [trip] = stack.writer.auto_stops.pending()
        assert trip.trigger == "unexplained_order" and trip.evidence["seen_at"] == "reconciliation"

        replica = stack.add_replica()
        assert closed_within(stack, BOUND_S, replica)
        close = recorded_close(stack, "unexplained_order", replica)
        assert close.request_id == trip.trip_id
        assert both_closed(stack, replica)
        assert stack.writer.auto_stops.pending() == []
