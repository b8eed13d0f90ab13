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


@dataclass(frozen=True)
class ContractInfo:
    """What the simulated sec-def server says about a stock."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    long_name: str


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
