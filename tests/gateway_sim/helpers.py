"""Helpers shared by the simulator tests: client bookkeeping and bounded waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ib_async import IB, LimitOrder, Stock, Trade

from gateway_sim import GatewaySimulator

Errors = list[tuple[int, int, str]]


class Clients:
    """Creates connected IB instances and disconnects all of them at teardown."""

    def __init__(self) -> None:
        self.made: list[IB] = []

    def connect(
        self,
        sim: GatewaySimulator,
        client_id: int = 1,
        timeout: float = 5,
        readonly: bool = False,
        errors: Errors | None = None,
    ) -> IB:
        ib = IB()
        self.made.append(ib)
        if errors is not None:
            ib.errorEvent += lambda req_id, code, msg, _c: errors.append((req_id, code, msg))
        ib.connect("127.0.0.1", sim.port, clientId=client_id, timeout=timeout, readonly=readonly)
        return ib

    def close(self) -> None:
        for ib in self.made:
            ib.disconnect()


def wait_until(ib: IB, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Pump ib_async's loop until predicate holds; bounded so no test can hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        try:
            ib.sleep(0.02)
        except ConnectionError:
            # ib_async surfaces a socket loss through whatever it is running at that moment.
            time.sleep(0.02)
    return predicate()


def codes(errors: Errors) -> list[int]:
    return [code for _req, code, _msg in errors]


def log_of(trade: Trade) -> list[tuple[str, int]]:
    """What the client recorded for a trade: (status, error code) per entry, 0 for no error."""
    return [(entry.status, entry.errorCode) for entry in trade.log]


def open_refs(ib: IB) -> dict[str, tuple[str, float, float]]:
    """orderRef -> (status, filled, remaining) of every order the gateway lists as open."""
    return {
        t.order.orderRef: (t.orderStatus.status, t.orderStatus.filled, t.orderStatus.remaining)
        for t in ib.reqAllOpenOrders()
    }


def completed_refs(ib: IB) -> dict[str, str]:
    return {t.order.orderRef: t.orderStatus.status for t in ib.reqCompletedOrders(False)}


def executed(ib: IB) -> list[tuple[str, float]]:
    """(orderRef, shares) of every execution the gateway reports."""
    return [(f.execution.orderRef, f.execution.shares) for f in ib.reqExecutions()]


def order_errors(errors: Errors) -> Errors:
    """The errors tied to an order id (not the farm notices every connection gets)."""
    return [e for e in errors if e[0] != -1]


def place_resting(ib: IB, ref: str, quantity: int = 10) -> Trade:
    """A buy of AAPL at 150, far below the default 190.10 ask, acknowledged Submitted."""
    trade = ib.placeOrder(
        Stock("AAPL", "SMART", "USD"), LimitOrder("BUY", quantity, 150, orderRef=ref)
    )
    assert wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    return trade


def unanswered(ib: IB, request: Awaitable[object], seconds: float) -> bool:
    """Whether REQUEST stays unanswered for SECONDS (ib_async itself would wait for ever)."""
    try:
        ib.run(asyncio.wait_for(request, seconds))
    except TimeoutError:
        return True
    return False
