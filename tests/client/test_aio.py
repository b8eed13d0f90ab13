"""The asyncio client against the real stack: the same calls, results and refusals."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from livegate_client import (
    Action,
    AsyncClient,
    KillSwitchError,
    KillSwitchState,
    LeaseState,
    Order,
    ScopeError,
    TlsFiles,
)
from tests.client.flows import ACCOUNT, RESTING_BUY
from tests.support.stack import Stack


def _connect(stack: Stack, pki: Path, identity: str) -> AsyncClient:
    return AsyncClient.connect(f"localhost:{stack.policy.port}", TlsFiles.from_dir(pki, identity))


def test_async_client_when_trading_then_submits_follows_and_raises_typed_refusals(
    stack: Stack, dev_pki: Path
) -> None:
    async def scenario() -> None:
        async with (
            _connect(stack, dev_pki, "upstream") as up,
            _connect(stack, dev_pki, "approver") as approver,
            _connect(stack, dev_pki, "operator") as operator,
        ):
            order = Order.limit("AAPL", Action.BUY, Decimal(2), RESTING_BUY)
            preview = await up.create_order_preview(ACCOUNT, order)
            approval = await approver.approve_preview(preview.preview_id)
            done = await up.submit_order(
                ACCOUNT, preview.preview_id, approval.approval_id, idempotency_key="mine-00001"
            )
            assert done.idempotency_key == "mine-00001" and done.attempts == 1
            followed = await up.get_broker_order(ACCOUNT, done.order.broker_order_id)
            assert followed.remaining == Decimal(2) and followed.order_ref == "mine-00001"
            again = await up.submit_order(
                ACCOUNT, preview.preview_id, approval.approval_id, idempotency_key="mine-00001"
            )
            assert again.replayed and again.order.broker_order_id == done.order.broker_order_id

            with pytest.raises(ScopeError):
                await approver.get_broker_order(ACCOUNT, done.order.broker_order_id)
            lease = await up.renew_lease(60.0)
            assert (lease.state, (await up.release_lease()).state) == (
                LeaseState.ACTIVE, LeaseState.RELEASED,
            )  # fmt: skip
            await operator.set_kill_switch(KillSwitchState.CLOSED, "test: stop")
            with pytest.raises(KillSwitchError) as refused:
                await up.cancel_order(ACCOUNT, done.order.broker_order_id)
            assert refused.value.gate_step == 6 and refused.value.idempotency_key

    asyncio.run(scenario())
    assert [o.order_ref for o in stack.sim.orders()] == ["mine-00001"]
