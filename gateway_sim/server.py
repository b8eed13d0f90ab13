"""GatewaySimulator: runs the simulated gateway on its own thread and event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType
from typing import TypeVar

from gateway_sim.config import SimConfig
from gateway_sim.core import SimCore, log
from gateway_sim.fault_api import FaultApi
from gateway_sim.models import HELD, WORKING_STATES, ReceivedMessage, SimExecution, SimOrder
from gateway_sim.protocol import WRITE_MSG_IDS
from gateway_sim.reference_api import ReferenceApi
from gateway_sim.session import Session

T = TypeVar("T")
CALL_TIMEOUT_S = 10.0


class GatewaySimulator(FaultApi, ReferenceApi):
    """A TWS/IB Gateway stand-in that ib_async reaches over TCP; all methods are thread-safe."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self._core = SimCore(self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._port = self.config.port
        self._session_tasks: set[asyncio.Task[None]] = set()

    # ---- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return self.config.host

    def start(self) -> GatewaySimulator:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop, ready), name="gateway-sim", daemon=True
        )
        self._thread.start()
        if not ready.wait(CALL_TIMEOUT_S):
            raise RuntimeError("event loop did not start")
        try:
            self._call_async(self._listen())
        except BaseException:
            # E.g. the port is taken: do not leave a loop thread behind.
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(CALL_TIMEOUT_S)
            self._loop = self._thread = None
            raise
        return self

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()
        loop.close()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._call_async(self._close(), timeout=CALL_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CALL_TIMEOUT_S)
            self._loop = None
            self._thread = None

    def restart(self) -> None:
        """Drop every connection and listen again on the same port; state is kept."""
        self._call_async(self._close())
        self._call_async(self._listen())

    def go_down(self) -> None:
        """Drop every connection and stop listening, as a gateway restarting (IB's nightly
        restart, a crash) does until come_back(); state is kept."""
        self._call_async(self._close())

    def come_back(self) -> None:
        """Listen again on the same port after go_down()."""
        self._call_async(self._listen())

    def __enter__(self) -> GatewaySimulator:
        return self.start()

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, self.config.host, self._port, reuse_address=True
        )
        sockets = self._server.sockets
        self._port = sockets[0].getsockname()[1]
        log.info("gateway simulator listening on %s:%s", self.config.host, self._port)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._core.drop_all()
        tasks = list(self._session_tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._session_tasks.add(task)
        try:
            await Session(self._core, reader, writer).run()
        except Exception:
            # A handler bug must cost one connection, never the server.
            log.exception("connection handler crashed")
            writer.transport.abort()
        finally:
            self._session_tasks.discard(task)

    # ---- cross-thread plumbing ---------------------------------------------------------

    def _call_async(self, coro: object, timeout: float = CALL_TIMEOUT_S) -> None:
        assert self._loop is not None and asyncio.iscoroutine(coro)
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _call(self, fn: Callable[[], T]) -> T:
        """Run fn on the simulator's loop (or inline if not started / already on it)."""
        loop = self._loop
        if loop is None or threading.current_thread() is self._thread:
            return fn()

        async def runner() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(runner(), loop).result(CALL_TIMEOUT_S)

    # ---- inspection --------------------------------------------------------------------

    def orders(self) -> list[SimOrder]:
        return self._call(lambda: [_copy(o) for o in self._core.engine.orders.values()])

    def executions(self) -> list[SimExecution]:
        return self._call(lambda: list(self._core.engine.executions))

    def received(self) -> list[ReceivedMessage]:
        return self._call(lambda: list(self._core.received))

    def received_writes(self) -> list[ReceivedMessage]:
        return [m for m in self.received() if m.msg_id in WRITE_MSG_IDS]

    def working_orders(self) -> list[SimOrder]:
        return [o for o in self.orders() if o.status in WORKING_STATES or o.status == HELD]

    def connected_client_ids(self) -> list[int]:
        return self._call(lambda: sorted(self._core.sessions))

    # ---- market and accounts -----------------------------------------------------------

    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal, last: Decimal) -> None:
        def apply() -> None:
            events = self._core.engine.set_quote(symbol, Decimal(bid), Decimal(ask), Decimal(last))
            self._core.push_quote(symbol)
            self._core.route(events)

        self._call(apply)

    def set_position(self, account: str, symbol: str, qty: Decimal, avg_cost: Decimal) -> None:
        """SYMBOL: a stock's symbol, or a derivative's local symbol (add_future / add_option)."""
        ledger = self._core.engine.ledger
        self._call(lambda: ledger.set_position(account, symbol, Decimal(qty), Decimal(avg_cost)))

    def set_cash(self, account: str, amount: Decimal) -> None:
        self._call(lambda: self._core.engine.ledger.set_cash(account, Decimal(amount)))


def _copy(order: SimOrder) -> SimOrder:
    return dataclasses.replace(order, placed_fields=dict(order.placed_fields))
