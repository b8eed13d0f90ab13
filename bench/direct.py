"""The baseline: the same order placed straight at the simulator with ib_async, no gate."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterable

from ib_async import IB, LimitOrder, Stock
from ib_async.ib import StartupFetchNONE

ACKED = frozenset({"PreSubmitted", "Submitted", "Filled"})
DIRECT_CLIENT_ID = 50


class DirectClient:
    """One ib_async connection (its own client id) for the baseline and the broker-side checks."""

    def __init__(self, port: int, account: str):
        self.account = account
        self.ib = IB()
        self.ib.client.MaxRequests = 0  # no pacing: the simulator has none (see run.py)
        self.ib.connect(
            "127.0.0.1", port, clientId=DIRECT_CLIENT_ID, timeout=10, fetchFields=StartupFetchNONE
        )
        self.contract = Stock("AAPL", "SMART", "USD")

    def place_one(self, limit: float = 189.0, timeout_s: float = 5.0) -> float:
        """Seconds from placeOrder until the gateway reports the order Submitted (event-driven)."""
        return float(self.ib.run(self._place(limit, timeout_s)))

    async def _place(self, limit: float, timeout_s: float) -> float:
        order = LimitOrder("BUY", 1, limit, account=self.account, tif="DAY")
        order.orderRef = f"direct-{uuid.uuid4().hex}"
        acked = asyncio.Event()
        start = time.perf_counter()
        trade = self.ib.placeOrder(self.contract, order)
        trade.statusEvent += lambda t: acked.set() if t.orderStatus.status in ACKED else None
        if trade.orderStatus.status not in ACKED:
            try:
                await asyncio.wait_for(acked.wait(), timeout_s)
            except TimeoutError:
                raise TimeoutError(f"no ack for order {order.orderId}") from None
        return time.perf_counter() - start

    def orders_by_ref(self, refs: Iterable[str]) -> Counter[str]:
        """How many broker orders (open or completed, any client) carry each of REFS."""
        wanted = set(refs)
        seen: Counter[str] = Counter()
        open_trades = self.ib.reqAllOpenOrders()
        done_trades = self.ib.reqCompletedOrders(apiOnly=False)
        ids: set[tuple[int, int, int]] = set()
        for trade in [*open_trades, *done_trades]:
            o = trade.order
            ident = (o.clientId, o.orderId, o.permId)
            if o.orderRef in wanted and ident not in ids:
                ids.add(ident)
                seen[o.orderRef] += 1
        return seen

    def close(self) -> None:
        self.ib.disconnect()
