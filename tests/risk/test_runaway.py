"""Runaway fills stop the principal whose orders filled, until an operator resets it."""

from __future__ import annotations

import json

from livegate_api.v1 import policy_pb2
from tests.policy.harness import new_key
from tests.risk.conftest import MakeStack
from tests.risk.flows import limit, submit
from tests.risk.test_checklist import run_cli, run_grpcurl, runbook_line
from tests.risk.test_positions import use
from tests.support.writers import ACCOUNT

RUNAWAY = {"runaway_max_fills": 3, "runaway_window_s": "60"}


def test_fills_when_they_reach_the_runaway_bound_then_the_principal_stops_until_reset(
    make_stack: MakeStack, db_url: str
) -> None:
    stack = make_stack(db_url=db_url, limits=RUNAWAY)
    resting = submit(stack, limit("1", "189.00")).order
    assert resting is not None
    fills = stack.policy.service.fills
    for _ in range(2):
        assert submit(stack, limit("1", "190.00")).order is not None  # above the ask: fills
    assert fills.run() == 0  # two fills: under the bound
    assert use("runaway_max_fills") == 2 / 3  # in the metrics, as every limit's use
    assert submit(stack, limit("1", "190.00")).order is not None  # the third: at it
    assert fills.run() == 1
    assert use("runaway_max_fills") == 1.0
    status = stack.policy.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    [stop] = status.principal_stops
    assert (stop.principal, stop.reason, stop.detail["fills"]) == ("upstream", "RUNAWAY_FILLS", "3")

    stopped = submit(stack, limit("1", "189.00"))
    assert (stopped.reason, stopped.step) == ("PRINCIPAL_STOPPED", "6")
    cancelled = stack.policy.upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=resting.broker_order_id, idempotency_key=new_key()
        ),
        timeout=15,
    )
    assert cancelled.order.status in ("Cancelled", "PendingCancel")  # risk-reducing: passes

    listed = run_cli(stack, "stops", "list")
    assert listed.returncode == 0 and '"principal": "upstream"' in listed.stdout
    reset = run_grpcurl(stack, runbook_line("ResetPrincipalStop"), PRINCIPAL="upstream")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["reset_by"] == "operator"
    assert submit(stack, limit("1", "189.00")).order is not None
    assert fills.run() == 0  # the fills before the reset no longer count
    again = run_cli(stack, "stops", "reset", "--principal", "upstream", "--reason", "twice")
    assert again.returncode == 1 and "PRINCIPAL_NOT_STOPPED" in again.stderr
