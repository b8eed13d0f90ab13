"""The reducing guard's view of the broker through ib_async: a fresh positions answer, and
every order still working on the account, matched to the order's instrument, whoever placed
it (livegate, TWS by hand, another program: see IbSession.working_trades)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Final

from ib_async import Contract

from writer_service import errors
from writer_service.ib_convert import contract_for, to_decimal
from writer_service.ib_session import IbSession
from writer_service.orders import InstrumentSpec, Side
from writer_service.reducing_guard import Exposure, PositionUnknown

_ZERO: Final = Decimal(0)
# What names one instrument across an order's contract, a position's and an open trade's:
# the exchange is left out (a position reports its primary exchange, an order says SMART).
_Key = tuple[str, str, str, str, Decimal | None, str]


def instrument_key(contract: Contract) -> _Key:
    """A month-only expiry (YYYYMM) is kept as given; see _same for how it matches a day."""
    strike = to_decimal(contract.strike) if contract.secType == "OPT" else None
    return (
        contract.secType,
        contract.symbol.upper(),
        contract.currency or "USD",
        contract.lastTradeDateOrContractMonth or "",
        strike.normalize() if strike is not None else None,
        (contract.right or "")[:1] if contract.secType == "OPT" else "",
    )


def _same(a: _Key, b: _Key) -> bool:
    """One instrument; a contract month (YYYYMM) matches a last trading day in it."""
    return a[:3] == b[:3] and a[4:] == b[4:] and _same_expiry(a[3], b[3])


def _same_expiry(a: str, b: str) -> bool:
    return a == b or (bool(a) and bool(b) and (a.startswith(b) or b.startswith(a)))


class IbExposureBook:
    """Asks the broker for every position at each check (ib_async keeps one positions request
    at a time: the session's positions lock), so the answer is as fresh as the check itself."""

    def __init__(self, session: IbSession, timeout_s: float):
        self._session = session
        self._timeout_s = timeout_s

    async def exposure(
        self, account: str, instrument: InstrumentSpec, side: Side, exclude_order_id: int | None
    ) -> Exposure:
        try:
            self._session.require_ready()
        except errors.WriterError as exc:
            raise PositionUnknown(f"no positions from the broker: {exc.message}") from None
        ib = self._session.ib
        try:
            async with self._session.positions_lock():
                await asyncio.wait_for(ib.reqPositionsAsync(), self._timeout_s)
        except TimeoutError:
            raise PositionUnknown(
                f"the broker did not answer the positions request within {self._timeout_s}s"
            ) from None
        if not self._session.broker_up():
            raise PositionUnknown("the broker connection dropped during the positions request")
        # Orders placed elsewhere count too (fail closed): a hand-placed sell of 60 against a
        # long 100 and livegate's sell of 60 would flip it together. The broker reports those
        # only in answer to an open-orders query, asked here after the positions.
        try:
            trades = await self._session.working_trades(self._timeout_s)
        except errors.WriterError as exc:
            raise PositionUnknown(f"no open orders from the broker: {exc.message}") from None
        # Read in one loop step after the answers: positions and order statuses are both kept
        # from the same ordered stream, so they describe one moment of it.
        wanted = instrument_key(contract_for(instrument))
        held = [p for p in ib.positions(account) if _same(instrument_key(p.contract), wanted)]
        if len(held) > 1:
            raise PositionUnknown(f"{len(held)} positions match {instrument.symbol}")
        position = (to_decimal(held[0].position) or _ZERO) if held else _ZERO
        working = _ZERO
        own = int(self._session.ib.client.clientId)
        for trade in trades:
            order = trade.order
            if (
                order.account != account
                or order.action != side.value
                # The modified order (this session's: livegate modifies only its own).
                or (order.orderId == exclude_order_id and order.clientId == own)
                or not _same(instrument_key(trade.contract), wanted)
            ):
                continue
            remaining = to_decimal(trade.orderStatus.remaining) or to_decimal(order.totalQuantity)
            working += remaining or _ZERO
        return Exposure(position, working)
