"""Quotes and a stable contract directory for the symbols the simulator knows."""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from decimal import Decimal

from gateway_sim.models import Quote

DEFAULT_QUOTES: dict[str, Quote] = {
    "AAPL": Quote(Decimal("189.90"), Decimal("190.10"), Decimal("190.00")),
    "MSFT": Quote(Decimal("410.00"), Decimal("410.20"), Decimal("410.10")),
}
UNKNOWN_QUOTE = Quote(Decimal("100.00"), Decimal("100.10"), Decimal("100.05"))
# Real conIds for the well-known names so logs look familiar.
KNOWN_CON_IDS = {"AAPL": 265598, "MSFT": 272093}


# IB's order types as contract details list them (STK on SMART).
STOCK_ORDER_TYPES = "ACTIVETIM,ADJUST,ALERT,ALLOC,LMT,MKT,STP,STPLMT,TRAIL"
# IB's market rule 26: US stocks, one cent at every price.
STOCK_MARKET_RULE = 26


@dataclass(frozen=True)
class ContractInfo:
    """What the simulated sec-def server says about a contract (stocks unless registered)."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    long_name: str
    # Futures and options: lastTradeDateOrContractMonth, strike, right ("C"/"P"); IB sends
    # an empty multiplier for stocks.
    expiry: str = ""
    strike: Decimal | None = None
    right: str = ""
    multiplier: str = ""
    min_tick: Decimal = Decimal("0.01")
    market_rule_id: int = STOCK_MARKET_RULE
    order_types: str = STOCK_ORDER_TYPES
    time_zone: str = "US/Eastern"
    # IB's tradingHours / liquidHours strings; None: open around the clock, generated per
    # request for the days around today (contracts.always_open).
    trading_hours: str | None = None
    liquid_hours: str | None = None

    @property
    def valid_exchanges(self) -> list[str]:
        if self.sec_type != "STK":
            return [self.exchange]
        return ["SMART", self.primary_exchange, "ISLAND", "ARCA"]

    @property
    def units(self) -> Decimal:
        """What one unit of quantity is worth in prices: the multiplier (1 for stocks)."""
        return Decimal(self.multiplier) if self.multiplier else Decimal(1)


def con_id_for(symbol: str) -> int:
    """Stable across runs and processes (unlike hash()), and never colliding with known ids."""
    known = KNOWN_CON_IDS.get(symbol.upper())
    if known is not None:
        return known
    return 100_000_000 + zlib.crc32(symbol.upper().encode()) % 100_000_000


# Every placeOrder looks its contract up; the answer is immutable and depends on the arguments
# only, so it is built once per distinct contract (bounded: clients choose the symbols).
@functools.lru_cache(maxsize=4096)
def contract_info(symbol: str, sec_type: str = "STK", currency: str = "USD") -> ContractInfo:
    sym = symbol.upper()
    return ContractInfo(
        con_id=con_id_for(sym),
        symbol=sym,
        sec_type=sec_type or "STK",
        exchange="SMART",
        primary_exchange="NASDAQ",
        currency=currency or "USD",
        local_symbol=sym,
        trading_class="NMS",
        long_name=f"{sym} SIMULATED INC",
    )


class QuoteBook:
    """Current quotes; unknown symbols fall back to a fixed default."""

    def __init__(self) -> None:
        self._quotes: dict[str, Quote] = {
            s: Quote(q.bid, q.ask, q.last) for s, q in DEFAULT_QUOTES.items()
        }

    def get(self, symbol: str) -> Quote:
        quote = self._quotes.get(symbol.upper())
        if quote is None:
            return Quote(UNKNOWN_QUOTE.bid, UNKNOWN_QUOTE.ask, UNKNOWN_QUOTE.last)
        return Quote(quote.bid, quote.ask, quote.last)

    def set(self, symbol: str, bid: Decimal, ask: Decimal, last: Decimal) -> None:
        if bid > ask:
            raise ValueError(f"crossed quote for {symbol}: bid {bid} > ask {ask}")
        self._quotes[symbol.upper()] = Quote(bid, ask, last)
