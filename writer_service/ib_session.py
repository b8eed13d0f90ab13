"""The ib_async adapter: one IB on its own thread and event loop, every wait bounded."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeVar

from ib_async import IB, Contract, Order, OrderState, Trade
from ib_async.ib import StartupFetchNONE
from ib_async.order import OrderStatus
from ib_async.util import UNSET_INTEGER
from ib_async.wrapper import RequestError

from writer_service import errors
from writer_service.orders import BrokerMessage

log = logging.getLogger("livegate.writer.ib")
T = TypeVar("T")

READ_ONLY_CODE: Final = 321
NO_SECURITY_DEFINITION: Final = 200
# IB's "Order Canceled - reason:", the message that comes with every cancel.
ORDER_CANCELLED_CODE: Final = 202
# Statuses only the broker sends that acknowledge an order as taken. ib_async sets statuses
# of its own too (PendingSubmit on send, ValidationError on a warning, Cancelled on many
# errors although the order may stay live), so only the broker's own orderStatus/openOrder
# messages are read here (see _broker_status).
_ACKED: Final = frozenset({OrderStatus.PreSubmitted, OrderStatus.Submitted, OrderStatus.Filled})
RECONNECT_INTERVAL_S: Final = 1.0
POLL_S: Final = 0.02
# The waker key of a wait on every order event and error (no IB order id is negative).
ANY_ORDER: Final = -(2**63)


class _Waker:
    """One waiter of IbSession._until: wake() resolves its current future, once."""

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: asyncio.Future[None] | None = None

    def wake(self) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_result(None)


@dataclass(frozen=True)
class BrokerErrorEvent:
    req_id: int
    code: int
    message: str
    at: float


@dataclass(frozen=True)
class QueryOutcome:
    """How the gateway answered an order query: rows, a refusal, or nothing in time.

    rows: an open-orders answer as the broker sent it (contract, order, its state), where
    trades are ib_async's objects, whose status may be one ib_async set itself.
    """

    trades: list[Trade]
    refused: BrokerErrorEvent | None = None
    timed_out: bool = False
    rows: list[tuple[Contract, Order, OrderState]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.refused is None and not self.timed_out


@dataclass(frozen=True)
class WhatIfOutcome:
    state: OrderState | None = None
    refused: BrokerErrorEvent | None = None
    timed_out: bool = False


class IbSession:
    """Owns the IB object; public methods are called from gRPC threads and hop onto the loop."""

    def __init__(self, request_timeout_s: float, max_messages_per_s: int = 45):
        self.request_timeout_s = request_timeout_s
        self._max_messages_per_s = max_messages_per_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ib-loop", daemon=True)
        self._thread.start()
        self._listeners: list[Callable[[BrokerErrorEvent], None]] = []
        # Waiters on the loop, woken by the order events and errors of the order ids they wait
        # for (ANY_ORDER: by all of them) instead of polling. Keyed by id so that an event
        # wakes its own waiter, not every write in flight.
        self._wakers: dict[int, set[_Waker]] = {}
        self._ticking = False
        # The highest order id this session has seen or used; see next_order_id.
        self._high_id = 0
        self._rescan_ids = True
        # orderRef -> its first trade, and (account, order id) -> its first trade, so finding a
        # key or an order at the broker is not a walk of every trade of the session (a cancel
        # on a busy day: 1.1 ms on the loop with 12,000 trades, measured).
        self._by_ref: dict[str, Trade] = {}
        self._by_id: dict[tuple[str, int], Trade] = {}
        self._index_stale = True
        self._raw_open: dict[int, tuple[Contract, Order, OrderState]] = {}
        # The last status the broker itself sent per order id (orderStatus or openOrder).
        self._broker_status: dict[int, str] = {}
        # The open-order rows of the query in flight; ib_async keeps one open-orders (and one
        # completed-orders) query at a time, so order queries take _query_lock.
        self._capture: list[tuple[Contract, Order, OrderState]] | None = None
        self._query_lock = asyncio.Lock()
        # ib_async keeps one positions request and its results under one key: one at a time,
        # for the reference reads and the reducing guard alike. Made on the loop, where used.
        self._positions_lock: asyncio.Lock | None = None
        self._target: tuple[str, int, int, float] | None = None
        self._stopping = False
        self._reconnecting = False
        self._established = False
        # ib_async holds messages back past IB's pacing (MaxRequests a second); a message held
        # back when a close answers would reach the broker after it (see flushed()).
        self._throttled = False
        self.on_reconnected: Callable[[], Awaitable[object]] | None = None
        # Called on the loop right before each order write (place, cancel) with its order id,
        # in the same loop step as the send: it may refuse by raising (the kill switch).
        self.before_send: Callable[[int], None] = lambda _order_id: None
        self.ib: IB = self.call(self._create_ib(), 5.0)

    # -- bridging ---------------------------------------------------------------------------
    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run CORO on the IB loop and wait for it, at most TIMEOUT_S (default request timeout)."""
        limit = self.request_timeout_s if timeout_s is None else timeout_s
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout=limit)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise errors.broker_timeout("the request", limit) from None
        except RequestError as exc:
            # RaiseRequestErrors turns a broker error answer into this; it is a refusal, not a
            # crash (e.g. 200 for a contract the broker does not know).
            if exc.code == NO_SECURITY_DEFINITION:
                raise errors.WriterError(
                    errors.ErrorKind.NOT_FOUND,
                    "INSTRUMENT_NOT_FOUND",
                    exc.message,
                    {"broker_error_code": exc.code},
                ) from None
            raise errors.broker_rejected(exc.code, exc.message) from None

    async def _create_ib(self) -> IB:
        ib = IB()
        ib.RaiseRequestErrors = True
        ib.client.MaxRequests = self._max_messages_per_s  # IB's pacing; see BrokerConfig
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._on_disconnected
        ib.client.throttleStart += self._on_throttle_start
        ib.client.throttleEnd += self._on_throttle_end
        ib.orderStatusEvent += self._on_order_event
        ib.openOrderEvent += self._on_order_event
        ib.openOrderEvent += self._remember
        ib.newOrderEvent += self._remember
        wrapper: Any = ib.wrapper
        original_open, original_next = wrapper.openOrder, wrapper.nextValidId
        original_status = wrapper.orderStatus

        def open_order(order_id: int, contract: Contract, order: Order, state: OrderState) -> None:
            self._high_id = max(self._high_id, int(order_id))
            if not order.whatIf:
                self._raw_open[order_id] = (contract, order, state)
                self._broker_status[order_id] = state.status
                if self._capture is not None:
                    self._capture.append((contract, order, state))
            original_open(order_id, contract, order, state)

        def order_status(order_id: int, status: str, *rest: Any, **kw: Any) -> None:
            self._broker_status[int(order_id)] = status
            original_status(order_id, status, *rest, **kw)

        def next_valid_id(order_id: int) -> None:
            # A new id from the gateway (at every connect): rescan what the session holds.
            self._rescan_ids = self._index_stale = True
            original_next(order_id)

        wrapper.openOrder, wrapper.nextValidId = open_order, next_valid_id
        wrapper.orderStatus = order_status
        return ib

    def _on_order_event(self, trade: Trade) -> None:
        self._wake(trade.order.orderId)

    def _wake(self, order_id: int) -> None:
        """Wake the waiters on ORDER_ID and those on any order."""
        for key in (order_id, ANY_ORDER):
            for waker in self._wakers.get(key, ()):
                waker.wake()

    def _tick(self) -> None:
        """Wake every waiter, every POLL_S while any is waiting: one timer for all of them."""
        if not self._wakers:
            self._ticking = False
            return
        for waiting in list(self._wakers.values()):
            for waker in list(waiting):
                waker.wake()
        self._loop.call_later(POLL_S, self._tick)

    async def _until(
        self, done: Callable[[], bool], deadline: float, order_ids: Iterable[int] = (ANY_ORDER,)
    ) -> bool:
        """Wait on the loop until DONE() holds (True) or DEADLINE passes (False, within POLL_S).

        The order events and errors of ORDER_IDS wake the wait at once (DONE must depend only on
        those orders, or pass ANY_ORDER); the POLL_S tick is only a safety net for a change that
        arrives without an event, and what notices the deadline.
        """
        if done():
            return True
        waker = _Waker()
        keys = set(order_ids)
        for key in keys:
            self._wakers.setdefault(key, set()).add(waker)
        if not self._ticking:
            self._ticking = True
            self._loop.call_later(POLL_S, self._tick)
        try:
            while True:
                if deadline - time.monotonic() <= 0:
                    return False
                # A bare future: asyncio.wait_for would add a task and a timer per wait.
                wake = waker.future = self._loop.create_future()
                await wake
                if done():
                    return True
        finally:
            for key in keys:
                waiting = self._wakers[key]
                waiting.discard(waker)
                if not waiting:
                    del self._wakers[key]

    # -- errors -----------------------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, message: str, _contract: Any) -> None:
        event = BrokerErrorEvent(int(req_id), int(code), str(message), time.monotonic())
        for listener in list(self._listeners):
            listener(event)
        self._wake(event.req_id)

    @contextlib.contextmanager
    def _collect_errors(self, match: Callable[[BrokerErrorEvent], bool]) -> Any:
        seen: list[BrokerErrorEvent] = []

        def listener(event: BrokerErrorEvent) -> None:
            if match(event):
                seen.append(event)

        self._listeners.append(listener)
        try:
            yield seen
        finally:
            self._listeners.remove(listener)

    @contextlib.contextmanager
    def messages(self, order_ids: Iterable[int]) -> Iterator[list[BrokerMessage]]:
        """A live list of every message the broker sends about ORDER_IDS, oldest first."""
        ids = set(order_ids)
        out: list[BrokerMessage] = []

        def listener(event: BrokerErrorEvent) -> None:
            if event.req_id in ids:
                out.append(BrokerMessage(event.code, event.message, event.req_id))

        self._listeners.append(listener)
        try:
            yield out
        finally:
            self._listeners.remove(listener)

    def broker_status(self, order_id: int) -> str:
        """The last status the broker itself sent for ORDER_ID ("" before any)."""
        return self._broker_status.get(order_id, "")

    # -- connection -------------------------------------------------------------------------
    def connect(self, host: str, port: int, client_id: int, timeout_s: float) -> None:
        self._target = (host, port, client_id, timeout_s)
        try:
            self.call(self._connect(), timeout_s + 1)
            self._established = True
        except (TimeoutError, OSError, ConnectionError) as exc:
            # The exception text carries the gateway address, a value of the broker secret.
            raise errors.broker_unavailable(
                f"cannot connect to the gateway ({type(exc).__name__})"
            ) from None

    async def _connect(self) -> None:
        assert self._target is not None
        host, port, client_id, timeout_s = self._target
        # Startup fetches are off: the probe and reconciliation issue their own bounded queries.
        await self.ib.connectAsync(
            host,
            port,
            clientId=client_id,
            timeout=timeout_s,
            readonly=False,
            fetchFields=StartupFetchNONE,
        )

    def is_connected(self) -> bool:
        """Connected and, after a reconnect, reconciled: ready to take writes."""
        return bool(self.ib.isConnected()) and not self._reconnecting

    def broker_up(self) -> bool:
        """The API connection to the gateway is up (reconciled or not)."""
        return bool(self.ib.isConnected())

    def managed_accounts(self) -> list[str]:
        return list(self.ib.managedAccounts())

    def _on_throttle_start(self) -> None:
        self._throttled = True

    def _on_throttle_end(self) -> None:
        self._throttled = False

    async def flushed(self, timeout_s: float) -> bool:
        """True once ib_async holds back no message for pacing: all went to the socket."""
        return await self._until(lambda: not self._throttled, time.monotonic() + timeout_s)

    def _on_disconnected(self) -> None:
        # ib_async drops its held-back messages on a disconnect without a throttleEnd.
        self._throttled = False
        # Only a session that was up reconnects; a failed first connect stops the start instead.
        if self._stopping or self._reconnecting or not self._established:
            return
        log.warning("broker connection lost; reconnecting")
        self._reconnecting = True
        self._loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        try:
            while not self._stopping:
                await asyncio.sleep(RECONNECT_INTERVAL_S)
                try:
                    await self._connect()
                except (TimeoutError, OSError, ConnectionError) as exc:
                    log.warning("reconnect failed", extra={"error": repr(exc)})
                    continue
                log.info("broker reconnected")
                if self.on_reconnected is not None:
                    try:
                        await self.on_reconnected()
                    except Exception:
                        # Never take writes on an unreconciled session: start over.
                        log.exception("reconciliation after reconnect failed; reconnecting")
                        with contextlib.suppress(Exception):
                            self.ib.disconnect()
                        continue
                if self.ib.isConnected():
                    return
                # Dropped again while reconciling: _on_disconnected saw a reconnect in
                # progress and left it to this loop.
                log.warning("broker connection lost while reconciling; reconnecting")
        finally:
            self._reconnecting = False

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(Exception):
            self.call(self._disconnect(), 5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _disconnect(self) -> None:
        self.ib.disconnect()
        # Work still in flight (a caller that gave up) ends here, not at interpreter exit.
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            # Let them run their cancellation before the loop stops; a task still "cancelling"
            # when the loop is closed is reported as destroyed while pending.
            await asyncio.wait(pending, timeout=1.0)

    # -- queries (run on the loop) ----------------------------------------------------------
    async def query(
        self, start: Callable[[], Awaitable[list[Trade]]], timeout_s: float, grace_s: float = 0.1
    ) -> QueryOutcome:
        """Run an order query, racing its answer against a 321 refusal; bounded by TIMEOUT_S."""
        self._require_connected()
        # A query's refusal is tied to no order (-1, or IB's unset id); a 321 about an order
        # (a refused modify, say) is that order's message, not this query's answer.
        refusals: list[BrokerErrorEvent] = []
        refused: asyncio.Future[Any] = self._loop.create_future()

        def listener(event: BrokerErrorEvent) -> None:
            if event.code == READ_ONLY_CODE and (event.req_id < 0 or event.req_id == UNSET_INTEGER):
                refusals.append(event)
                if not refused.done():
                    refused.set_result(None)

        self._listeners.append(listener)
        try:
            task: asyncio.Future[Any] = asyncio.ensure_future(start())
            # Woken by the answer or by the refusal, whichever comes first: no polling.
            await asyncio.wait(
                {task, refused}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if task.done() and not refusals and grace_s:
                # A refusal sent just after the end still counts.
                await asyncio.wait({refused}, timeout=grace_s)
        finally:
            self._listeners.remove(listener)
        # The answer may hold orders with ids next_order_id must skip, and refs to remember.
        self._rescan_ids = self._index_stale = True
        if refusals:
            task.cancel()
            return QueryOutcome([], refused=refusals[0])
        if not task.done():
            task.cancel()
            return QueryOutcome([], timed_out=True)
        exc = task.exception()
        if exc is not None:
            return QueryOutcome(
                [], refused=BrokerErrorEvent(-1, getattr(exc, "code", -1), str(exc), 0)
            )
        return QueryOutcome(list(task.result()))

    async def open_orders(self, timeout_s: float, grace_s: float = 0.1) -> QueryOutcome:
        async with self._query_lock:
            rows: list[tuple[Contract, Order, OrderState]] = []
            self._capture = rows
            try:
                outcome = await self.query(self.ib.reqAllOpenOrdersAsync, timeout_s, grace_s)
            finally:
                self._capture = None
            if not outcome.answered:
                self._abandon("openOrders")
            return replace(outcome, rows=rows)

    async def completed_orders(self, timeout_s: float, grace_s: float = 0.1) -> QueryOutcome:
        async with self._query_lock:
            outcome = await self.query(
                lambda: self.ib.reqCompletedOrdersAsync(False), timeout_s, grace_s
            )
            if not outcome.answered:
                self._abandon("completedOrders")
            return outcome

    def _abandon(self, key: str) -> None:
        """Drop an unanswered query's slot: while ib_async keeps it, openOrder messages go to
        its result list instead of being announced as events."""
        self.ib.wrapper._endReq(key)

    async def executions(self, timeout_s: float) -> list[Any]:
        self._require_connected()
        fills = list(await asyncio.wait_for(self.ib.reqExecutionsAsync(), timeout_s))
        self._rescan_ids = self._index_stale = True
        return fills

    async def what_if(self, contract: Contract, order: Order, timeout_s: float) -> WhatIfOutcome:
        """A what-if: margins back, a refusal, or nothing (ib_async never resolves a refusal)."""
        self._require_connected()
        probe = Order(**{**vars(order), "whatIf": True})
        req_id = await self.next_order_id()
        probe.orderId = req_id
        future = self.ib.wrapper.startReq(req_id, contract)
        with self._collect_errors(lambda e: e.req_id == req_id) as refusals:
            self.ib.client.placeOrder(req_id, contract, probe)
            deadline = time.monotonic() + timeout_s
            while not future.done() and not refusals and time.monotonic() < deadline:
                await asyncio.sleep(POLL_S)
        if future.done() and future.exception() is None:
            return WhatIfOutcome(state=future.result())
        if future.done():
            exc: Any = future.exception()
            code = getattr(exc, "code", -1)
            return WhatIfOutcome(refused=BrokerErrorEvent(req_id, code, str(exc), time.monotonic()))
        self.ib.wrapper._endReq(req_id)  # drop the never-resolving future
        if refusals:
            return WhatIfOutcome(refused=refusals[0])
        return WhatIfOutcome(timed_out=True)

    # -- order ids --------------------------------------------------------------------------
    async def next_order_id(self, count: int = 1) -> int:
        """The next order id: the gateway's nextValidId, never below an id already seen or used.

        No round trip: the gateway announces nextValidId at every connect and only this session
        (its client id) uses ids while it is connected, so the gateway's answer to a reqIds here
        could not be higher than what the client already holds. A gateway that rolled its id
        back after a reconnect must not make us reuse a live id, which IB would treat as a modify
        of that order: after every connect and every order query, the whole session is scanned
        once for the highest id; in between, the open-order stream and our own ids keep it.
        Runs on the loop with no await, so allocation and the following placeOrder are atomic.
        """
        self._require_connected()
        if self._rescan_ids:
            self._rescan_ids = False
            seen = max(
                [*self._raw_open.keys(), *(t.order.orderId for t in self.ib.trades())], default=0
            )
            self._high_id = max(self._high_id, seen)
        order_id = max(self.ib.client.getReqId(), self._high_id + 1)
        self._high_id = order_id + count - 1
        self.ib.client.updateReqId(order_id + count)
        return order_id

    # -- writes -----------------------------------------------------------------------------
    async def place(self, contract: Contract, order: Order) -> Trade:
        self._require_ready()
        self.before_send(order.orderId)  # no await between this check and the send
        return self.ib.placeOrder(contract, order)

    async def wait_acked(
        self, order_ids: list[int], said: list[BrokerMessage], timeout_s: float
    ) -> bool:
        """True when the broker itself acknowledged every order (working or filled) and said
        nothing else about them: a clean answer. False at the first message in SAID (the
        caller's messages() list), an order the broker ended, or the deadline: the caller then
        reads the broker's truth back, since none of those is a verdict by itself.
        """

        def acked() -> bool:
            return all(self._broker_status.get(i) in _ACKED for i in order_ids)

        def settled() -> bool:
            ended = any(self._broker_status.get(i) in OrderStatus.DoneStates for i in order_ids)
            return bool(said) or acked() or ended

        await self._until(settled, time.monotonic() + timeout_s, order_ids)
        return not said and acked()

    async def wait_modified(
        self,
        order_id: int,
        expect: Callable[[Order], bool],
        said: list[BrokerMessage],
        timeout_s: float,
    ) -> bool:
        """True when the broker's copy of ORDER_ID satisfies EXPECT and it said nothing else;
        False at a message or the deadline (the caller reads the truth back)."""
        self._raw_open.pop(order_id, None)

        def holds() -> bool:
            raw = self._raw_open.get(order_id)
            return raw is not None and expect(raw[1])

        await self._until(lambda: bool(said) or holds(), time.monotonic() + timeout_s, (order_id,))
        return not said and holds()

    async def cancel(
        self, trade: Trade, said: list[BrokerMessage], timeout_s: float, reducing: bool = False
    ) -> None:
        """Send a cancel and wait until the broker ends the order, says something other than
        its usual 202, or the deadline passes; the caller reads the outcome back.

        REDUCING: the cleanup of a write already sent (a partial bracket's stray legs), which
        a closed kill switch must not stop, as it does not stop cancel-all.
        """
        self._require_ready()
        order_id = trade.order.orderId
        if not reducing:
            self.before_send(order_id)  # no await between this check and the send
        self.ib.cancelOrder(trade.order)

        def answered() -> bool:
            if self._broker_status.get(order_id) in OrderStatus.DoneStates:
                return True
            return any(m.code != ORDER_CANCELLED_CODE for m in said)

        await self._until(answered, time.monotonic() + timeout_s, (order_id,))

    async def cancel_ids(self, orders: list[tuple[str, int]], timeout_s: float) -> None:
        """Send a cancel for each (account, broker order id), every one before any wait (none
        queues behind another's answer), then wait until the broker ended them all or the
        deadline passes; the caller reads the outcome back.

        Risk-reducing, like cancel-all itself: a closed kill switch does not stop it.
        """
        self._require_ready()
        for account, order_id in orders:
            trade = self.trade_by_id(account, order_id)
            # An order of this client id the session holds no trade for (placed before a
            # restart, say) is still cancelled by its id.
            self.ib.cancelOrder(trade.order if trade is not None else Order(orderId=order_id))
        await self._until_done([i for _a, i in orders], timeout_s)

    async def global_cancel(self, order_ids: list[int], timeout_s: float) -> None:
        """IB's broker-wide reqGlobalCancel (orders of every client and TWS included); waits
        for ORDER_IDS to end, or the deadline."""
        self._require_ready()
        self.ib.reqGlobalCancel()
        await self._until_done(order_ids, timeout_s)

    async def _until_done(self, order_ids: list[int], timeout_s: float) -> None:
        # The broker's own status (not ib_async's, which marks PendingCancel/Cancelled itself).
        await self._until(
            lambda: all(self._broker_status.get(i) in OrderStatus.DoneStates for i in order_ids),
            time.monotonic() + timeout_s,
            order_ids,
        )

    async def snapshot(self, contract: Contract, timeout_s: float) -> Any:
        self._require_connected()
        try:
            # Snapshot tickers are keyed by conId, so the contract is qualified first.
            qualified = await asyncio.wait_for(self.ib.qualifyContractsAsync(contract), timeout_s)
            if not qualified or not isinstance(qualified[0], Contract):
                raise errors.WriterError(
                    errors.ErrorKind.NOT_FOUND,
                    "INSTRUMENT_NOT_FOUND",
                    f"the broker does not know {contract.symbol} uniquely",
                )
            tickers = await asyncio.wait_for(self.ib.reqTickersAsync(qualified[0]), timeout_s)
        except TimeoutError:
            raise errors.broker_timeout("the quote", timeout_s) from None
        return tickers[0]

    def positions_lock(self) -> asyncio.Lock:
        """Held around every reqPositions (on the loop)."""
        if self._positions_lock is None:
            self._positions_lock = asyncio.Lock()
        return self._positions_lock

    def raw_open(self, order_id: int) -> tuple[Contract, Order, OrderState] | None:
        return self._raw_open.get(order_id)

    def open_trades(self) -> list[Trade]:
        """Trades not filled or cancelled yet (ib_async's view, kept current by order events)."""
        return list(self.ib.openTrades())

    async def working_trades(self, timeout_s: float, read_only_own: bool = False) -> list[Trade]:
        """Every order working at the broker, whoever placed it: this session's own open trades
        (kept current by their order events, so an order just sent counts before the broker
        answers it) and, from a fresh reqAllOpenOrders, the orders of every other client: TWS
        by hand, another program. The gateway sends those only in answer to such a query (not
        their later statuses: a trade of another client kept from an older answer may be
        filled or cancelled since), so only this answer's are taken. Raises WriterError
        (BROKER_UNAVAILABLE, BROKER_TIMEOUT) when the broker does not answer.

        READ_ONLY_OWN: a read-only API connection (the query refused 321, as an R or ABH
        writer's gateway may) answers with this session's own trades: it can place no order, so
        none of livegate's can add to what works there. The reducing guard does not pass it."""
        outcome = await self.open_orders(timeout_s, grace_s=0)
        own = int(self.ib.client.clientId)
        mine = [t for t in self.ib.openTrades() if t.order.clientId == own]
        if outcome.refused is not None and read_only_own and outcome.refused.code == READ_ONLY_CODE:
            return mine
        if outcome.refused is not None:
            raise errors.broker_unavailable(
                f"the open orders query was refused ({outcome.refused.code})"
            )
        if outcome.timed_out:
            raise errors.broker_timeout("the open orders", timeout_s)
        others = {
            (int(t.order.clientId), int(t.order.orderId), int(t.order.permId)): t
            for t in outcome.trades
            if t.order.clientId != own and not t.isDone()
        }
        return mine + list(others.values())

    def _remember(self, trade: Trade) -> None:
        order = trade.order
        if order.orderRef:
            self._by_ref.setdefault(order.orderRef, trade)
        if order.orderId > 0:
            self._by_id.setdefault((order.account, order.orderId), trade)

    def _fresh_index(self) -> None:
        """Kept from the order events; rebuilt by one walk after a connect or an order query,
        which can bring trades (or fresh Trade objects) without those events."""
        if self._index_stale:
            self._index_stale = False
            self._by_ref, self._by_id = {}, {}
            for trade in self.ib.trades():
                self._remember(trade)

    def trade_by_ref(self, ref: str) -> Trade | None:
        """The first trade of the session carrying orderRef REF (as a walk of trades() finds)."""
        self._fresh_index()
        return self._by_ref.get(ref)

    def trade_by_id(self, account: str, order_id: int) -> Trade | None:
        """The first trade of the session with this account and order id (as a walk finds)."""
        self._fresh_index()
        trade = self._by_id.get((account, order_id))
        if trade is not None:
            return trade
        # A miss walks them all once more: an order the events did not show us (its id given
        # in place, say) is still found, and a miss is rare (an unknown id: NOT_FOUND).
        for trade in self.ib.trades():
            if trade.order.orderId == order_id and trade.order.account == account:
                return trade
        return None

    def _require_connected(self) -> None:
        if not self.ib.isConnected():
            raise errors.broker_unavailable("the writer is not connected to the gateway")

    def require_connected(self) -> None:
        """Refuse (BROKER_UNAVAILABLE) unless connected: enough for reads of reference data."""
        self._require_connected()

    def require_ready(self) -> None:
        """Refuse (BROKER_UNAVAILABLE) until connected and reconciled after a reconnect."""
        self._require_ready()

    def _require_ready(self) -> None:
        # Until reconciliation after a reconnect is done, a retried key might not be found yet:
        # refuse writes rather than risk a second order for one key.
        self._require_connected()
        if self._reconnecting:
            raise errors.broker_unavailable("the writer is reconciling after a reconnect")
