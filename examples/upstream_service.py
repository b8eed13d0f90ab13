"""An upstream service trading through livegate with livegate_client (asyncio).

It previews an order, waits for a second person's approval, submits it (the client makes the
idempotency key and retries it on an open outcome), follows the order at the broker, and when
an operator closes the kill switch it stops, waits for the reopen, and starts over with a fresh
preview. Two stand-ins for people run beside it: an approval desk (the `approver` identity)
and, with --drill, an operator who closes the switch and reopens it (the `operator` identity).

    python examples/upstream_service.py --target localhost:50051 --pki .livegate/dev/pki --drill
    livegate dev --example        # the same against a fresh local stack
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from decimal import Decimal
from pathlib import Path

from livegate_client import (
    Action,
    AsyncClient,
    KillSwitchError,
    KillSwitchState,
    LivegateError,
    Order,
    TlsFiles,
)
from livegate_client.models import BrokerOrder

ACCOUNT = "U1234567"
FINAL = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})


def say(who: str, text: str) -> None:
    print(f"[{who:<8}] {text}", flush=True)


class ApprovalDesk:
    """Stands in for the second person: approves each preview the strategy puts in front of it."""

    def __init__(self, client: AsyncClient):
        self._client = client
        self._pending: asyncio.Queue[tuple[str, asyncio.Future[str]]] = asyncio.Queue()

    async def approval_of(self, preview_id: str) -> str:
        """Wait until the desk approves PREVIEW_ID; its approval id."""
        decided: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        await self._pending.put((preview_id, decided))
        return await decided

    async def run(self) -> None:
        while True:
            preview_id, decided = await self._pending.get()
            await asyncio.sleep(0.5)  # a person reads the preview
            approval = await self._client.approve_preview(preview_id, "looks right")
            say("approver", f"approved {preview_id} ({approval.approval_id})")
            decided.set_result(approval.approval_id)


async def follow(client: AsyncClient, order: BrokerOrder, polls: int = 3) -> BrokerOrder:
    """Read the order back from the broker a few times, as a strategy watches its fills."""
    for _ in range(polls):
        order = await client.get_broker_order(ACCOUNT, order.broker_order_id)
        say("strategy", f"order {order.broker_order_id} {order.status}: filled {order.filled}, "
                        f"remaining {order.remaining}")  # fmt: skip
        if order.status in FINAL:
            break
        await asyncio.sleep(0.5)
    return order


async def place(client: AsyncClient, desk: ApprovalDesk, qty: Decimal, limit: Decimal) -> None:
    """Preview, wait for the approval, submit, follow: one order's whole path."""
    preview = await client.create_order_preview(
        ACCOUNT, Order.limit("AAPL", Action.BUY, qty, limit)
    )
    say("strategy", f"preview {preview.preview_id}: buy {qty} AAPL @ {limit}, reference "
                    f"{preview.reference_price}, notional {preview.estimated_notional}, "
                    f"would pass: {preview.would_pass}")  # fmt: skip
    approval_id = await desk.approval_of(preview.preview_id)
    result = await client.submit_order(ACCOUNT, preview.preview_id, approval_id)
    say("strategy", f"submitted under key {result.idempotency_key} in {result.attempts} "
                    f"attempt(s): broker order {result.order.broker_order_id}")  # fmt: skip
    await follow(client, result.order)


async def wait_for_reopen(client: AsyncClient, timeout_s: float = 60) -> None:
    """Poll the live status (any principal may) until the kill switch is open again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        status = await client.get_live_status()
        if status.kill_switch and status.kill_switch.state is KillSwitchState.OPEN:
            say("strategy", f"kill switch open again ({status.kill_switch.reason}): resuming")
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("the kill switch stayed closed")


async def operator_drill(client: AsyncClient, second: AsyncClient) -> None:
    """Stands in for two operators: one closes the switch, and a little later requests the
    reopen, which the second confirms (one operator alone cannot reopen a live desk)."""
    change = await client.set_kill_switch(KillSwitchState.CLOSED, "drill: emergency stop")
    say("operator", f"closed the kill switch (writer synced: {change.writer_synced})")
    await asyncio.sleep(2)
    change = await client.set_kill_switch(KillSwitchState.OPEN, "drill: all clear")
    pending = change.kill_switch.pending_reopen
    if pending is not None:
        say("operator", f"reopen requested ({pending.reopen_id}); a second operator confirms")
        change = await second.confirm_reopen(pending.reopen_id, "drill: all clear")
    say("operator", f"reopened the kill switch (writer synced: {change.writer_synced})")


async def trade(args: argparse.Namespace) -> int:
    def tls(identity: str) -> TlsFiles:
        return TlsFiles.from_dir(args.pki, identity)

    async with (
        AsyncClient.connect(args.target, tls("upstream"), server_name=args.server_name) as up,
        AsyncClient.connect(args.target, tls("approver"), server_name=args.server_name) as appr,
    ):
        status = await up.get_live_status()
        say("strategy", f"live enabled: {status.live_enabled}, risk policy {status.risk_policy_id}")
        if not status.live_enabled:
            say("strategy", "not live yet: waiting for an operator to open the kill switch")
            await wait_for_reopen(up)
        desk = ApprovalDesk(appr)
        desk_task = asyncio.create_task(desk.run())
        try:
            await place(up, desk, Decimal(5), Decimal("189.00"))
            if args.drill:
                async with (
                    AsyncClient.connect(
                        args.target, tls("operator"), server_name=args.server_name
                    ) as op,
                    AsyncClient.connect(
                        args.target, tls("operator2"), server_name=args.server_name
                    ) as op2,
                ):
                    await operator_drill_then_trade(up, (op, op2), desk)
        finally:
            desk_task.cancel()
    say("strategy", "done")
    return 0


async def operator_drill_then_trade(
    up: AsyncClient, ops: tuple[AsyncClient, AsyncClient], desk: ApprovalDesk
) -> None:
    """The switch closes between preview and submit: stop, wait, start over with a new preview."""
    preview = await up.create_order_preview(
        ACCOUNT, Order.limit("AAPL", Action.BUY, Decimal(2), Decimal("189.10"))
    )
    say("strategy", f"preview {preview.preview_id}: buy 2 AAPL @ 189.10, waiting for approval")
    approval_id = await desk.approval_of(preview.preview_id)
    drill = asyncio.create_task(operator_drill(*ops))
    await asyncio.sleep(0.5)  # the close lands first
    try:
        await up.submit_order(ACCOUNT, preview.preview_id, approval_id)
        raise RuntimeError("a submit passed while the kill switch was closed")
    except KillSwitchError as stop:
        say("strategy", f"refused: {stop.reason} at gate step {stop.gate_step} "
                        f"(switch version {stop.metadata.get('version')}); pausing")  # fmt: skip
    await wait_for_reopen(up)
    await drill
    # Approvals given before a close are not reused: preview and ask again.
    await place(up, desk, Decimal(2), Decimal("189.10"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="localhost:50051", help="policy service host:port")
    parser.add_argument("--pki", type=Path, default=Path(".livegate/dev/pki"))
    parser.add_argument("--server-name", default=None, help="name on the gate's certificate")
    parser.add_argument("--drill", action="store_true", help="an operator closes the switch")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(trade(args))
    except LivegateError as refused:
        say("strategy", f"FAIL {type(refused).__name__}: {refused}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
