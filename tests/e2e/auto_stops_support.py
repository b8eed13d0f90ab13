"""Shared steps of the automatic-stop tests: a stack with triggers on, and what to look at."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import reason_of
from tests.support.net import wait_until
from tests.support.stack import Replica, Stack, live_stack
from tests.support.vault import DevVault
from writer_service.kill_switch import SwitchState

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
OPEN = common_pb2.KILL_SWITCH_STATE_OPEN
# The policy asks the writer for its trips this often (the shipped default).
POLL_S = 0.5


@contextmanager
def stack_with(
    dev_pki: Path,
    tmp_path: Path,
    vault: DevVault,
    writer: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Iterator[Stack]:
    """A live stack whose writer and policy take these dotted overrides (trigger switches)."""
    with live_stack(
        dev_pki, tmp_path, vault, writer_overrides=writer or {}, policy_overrides=policy or {},
        **kwargs,
    ) as stack:  # fmt: skip
        yield stack


def switch_state(replica: Replica) -> int:
    reply = replica.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=10)
    return int(reply.state)


def both_closed(stack: Stack, replica: Replica | None = None) -> bool:
    """The replica's switch and the writer's own are closed."""
    writer_closed = stack.writer.kill_switch.snapshot().state is SwitchState.CLOSED
    return writer_closed and switch_state(replica or stack.policy) == CLOSED


def closed_within(stack: Stack, bound_s: float, replica: Replica | None = None) -> bool:
    """Polls (bounded) until both are closed; the bound is the product's stated one."""
    return wait_until(lambda: both_closed(stack, replica), timeout_s=bound_s, interval_s=0.05)


def stays_open(stack: Stack, for_s: float) -> bool:
    """Nothing closes either switch for FOR_S (the trigger's bound: long enough to fire)."""
    closed = wait_until(
        lambda: (
            stack.writer.kill_switch.snapshot().state is SwitchState.CLOSED
            or switch_state(stack.policy) == CLOSED
        ),
        timeout_s=for_s,
        interval_s=0.1,
    )
    return not closed


def auto_closes(stack: Stack, trigger: str, replica: Replica | None = None) -> list[Any]:
    """The audited closes automatic stops of TRIGGER made (operator auto:<trigger>)."""
    r = replica or stack.policy
    events = r.operator.ListAuditEvents(
        policy_pb2.ListAuditEventsRequest(page_size=1000), timeout=10
    ).events
    return [e for e in events if e.method == "AutoStop" and e.principal == f"auto:{trigger}"]


def recorded_close(stack: Stack, trigger: str, replica: Replica | None = None) -> Any:
    """The one audited close of TRIGGER. GetKillSwitch answers CLOSED from the moment the
    replica holds the close, a moment before it is stored: wait (bounded) for the event."""
    assert wait_until(lambda: auto_closes(stack, trigger, replica) != [], timeout_s=5)
    [close] = auto_closes(stack, trigger, replica)
    return close


def assert_submit_refused_by_switch(stack: Stack) -> None:
    preview_id, approval_id = stack.approved()
    with pytest.raises(grpc.RpcError) as refused:
        stack.submit(preview_id, approval_id)
    assert reason_of(refused.value) == "KILL_SWITCH_CLOSED"


def assert_submit_executes(stack: Stack) -> None:
    reply = stack.submit(*stack.approved())
    assert reply.order.broker_order_id > 0


def disabled_trigger_logged(caplog: pytest.LogCaptureFixture, trigger: str) -> bool:
    """A service saw TRIGGER's event and, the trigger being off, said so instead of tripping."""
    return any(
        r.getMessage() == "automatic stop disabled; not tripped"
        and getattr(r, "trigger", "") == trigger
        for r in caplog.records
    )
