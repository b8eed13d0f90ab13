"""Invariant 1 with an unwritable database: every live write refused, none at the broker."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import new_key, reason_of
from tests.support.db_faults import FAULTS, database_fault
from tests.support.stack import RESTING_BUY, Stack, live_stack
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT


@dataclass(frozen=True)
class Prepared:
    """Everything each kind of live write needs, made while the database was still writable."""

    submit: tuple[str, str]
    resting_order_id: int
    modify: tuple[str, str]
    bracket: tuple[tuple[str, str, str], tuple[str, str, str]]


def _prepare(stack: Stack) -> Prepared:
    resting = stack.submit(*stack.approved())
    policy = stack.policy
    modify_preview = policy.upstream.CreateModifyPreview(
        policy_pb2.CreateModifyPreviewRequest(
            account_id=ACCOUNT,
            broker_order_id=resting.order.broker_order_id,
            changes=common_pb2.OrderChanges(quantity="2"),
        ),
        timeout=10,
    )
    group = policy.upstream.CreateBracketPreview(
        policy_pb2.CreateBracketPreviewRequest(
            account_id=ACCOUNT,
            instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
            action=common_pb2.ACTION_BUY,
            quantity="1",
            entry_limit_price=RESTING_BUY,
            take_profit_price="190.00",
            stop_loss_price="188.00",
            time_in_force=common_pb2.TIME_IN_FORCE_DAY,
        ),
        timeout=10,
    )
    legs = (group.parent.preview_id, group.take_profit.preview_id, group.stop_loss.preview_id)
    leg_approvals = (_approve(stack, legs[0]), _approve(stack, legs[1]), _approve(stack, legs[2]))
    return Prepared(
        submit=stack.approved(),
        resting_order_id=resting.order.broker_order_id,
        modify=(modify_preview.preview_id, _approve(stack, modify_preview.preview_id)),
        bracket=(legs, leg_approvals),
    )


def _approve(stack: Stack, preview_id: str) -> str:
    approval = stack.policy.approver.ApprovePreview(
        policy_pb2.ApprovePreviewRequest(preview_id=preview_id), timeout=10
    )
    return str(approval.approval_id)


def _live_writes(stack: Stack, p: Prepared, keys: dict[str, str]) -> dict[str, Callable[[], Any]]:
    up = stack.policy.upstream
    (pp, tp, sp), (pa, ta, sa_) = p.bracket
    return {
        "submit": lambda: stack.submit(*p.submit, key=keys["submit"]),
        "cancel": lambda: up.CancelOrder(
            policy_pb2.CancelOrderRequest(
                account_id=ACCOUNT, broker_order_id=p.resting_order_id,
                idempotency_key=keys["cancel"],
            ),
            timeout=15,
        ),
        "modify": lambda: up.ModifyOrder(
            policy_pb2.ModifyOrderRequest(
                account_id=ACCOUNT, broker_order_id=p.resting_order_id,
                preview_id=p.modify[0], approval_id=p.modify[1],
                changes=common_pb2.OrderChanges(quantity="2"), idempotency_key=keys["modify"],
            ),
            timeout=15,
        ),
        "bracket": lambda: up.SubmitBracket(
            policy_pb2.SubmitBracketRequest(
                account_id=ACCOUNT, parent_preview_id=pp, take_profit_preview_id=tp,
                stop_loss_preview_id=sp, parent_approval_id=pa, take_profit_approval_id=ta,
                stop_loss_approval_id=sa_, idempotency_key=keys["bracket"],
            ),
            timeout=15,
        ),
    }  # fmt: skip


@pytest.mark.parametrize("fault", FAULTS)
def test_live_writes_when_database_unwritable_then_all_refused_and_nothing_reaches_broker(
    fault: str,
    request: pytest.FixtureRequest,
    dev_pki: Path,
    tmp_path: Path,
    faults_vault: DevVault,
) -> None:
    """Invariants 1 and 7: a write that cannot be recorded is refused (UNAVAILABLE), fail closed."""
    with ExitStack() as cleanup:
        db_url, unwritable = database_fault(fault, request, cleanup, tmp_path)
        stack = cleanup.enter_context(live_stack(dev_pki, tmp_path, faults_vault, db_url=db_url))
        prepared = _prepare(stack)
        keys = {kind: new_key() for kind in ("submit", "cancel", "modify", "bracket")}
        writes_before = stack.sim.received_writes()
        orders_before = stack.sim.orders()
        with unwritable:
            for kind, call in _live_writes(stack, prepared, keys).items():
                with pytest.raises(grpc.RpcError) as refused:
                    call()
                assert (refused.value.code(), reason_of(refused.value)) == (
                    grpc.StatusCode.UNAVAILABLE,
                    "AUDIT_UNAVAILABLE",
                ), kind
            assert stack.sim.received_writes() == writes_before
            assert stack.sim.orders() == orders_before
        # Nothing partial was left behind: once writable again the same key goes through once.
        reply = stack.submit(*prepared.submit, key=keys["submit"])
        assert not reply.replayed
        assert len(stack.broker_orders_with_ref(keys["submit"])) == 1
