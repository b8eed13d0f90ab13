"""The sec-def server: contracts by symbol or conId, market rules, and trading hours."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from gateway_sim.market import STOCK_MARKET_RULE, ContractInfo, contract_info
from gateway_sim.protocol import parse_decimal, parse_int
from gateway_sim.wire_in import Parsed

# IB's market rules as reqMarketRule answers them: (low edge, increment) from the lowest price.
# 26: US stocks, a cent everywhere; 239: sub-penny under a dollar (Reg NMS 612).
DEFAULT_RULES: dict[int, tuple[tuple[Decimal, Decimal], ...]] = {
    STOCK_MARKET_RULE: ((Decimal(0), Decimal("0.01")),),
    239: ((Decimal(0), Decimal("0.0001")), (Decimal(1), Decimal("0.01"))),
}
# Days of generated always-open hours around today, as IB lists about a week.
_DAYS_BEFORE, _DAYS_AFTER = 1, 6


def always_open(time_zone: str, today: dt.date | None = None) -> str:
    """IB's tradingHours for a contract open around the clock, one session per local day."""
    try:
        zone = ZoneInfo(time_zone)
    except (ValueError, KeyError):  # a zone a test made up to see it refused: days in UTC
        zone = ZoneInfo("UTC")
    day = today or dt.datetime.now(zone).date()
    days = [day + dt.timedelta(days=n) for n in range(-_DAYS_BEFORE, _DAYS_AFTER + 1)]
    return ";".join(f"{d:%Y%m%d}:0000-{d + dt.timedelta(days=1):%Y%m%d}:0000" for d in days)


def hours_text(sessions: Iterable[tuple[dt.datetime, dt.datetime]], time_zone: str) -> str:
    """IB's tradingHours format for SESSIONS (aware datetimes), in TIME_ZONE's local time."""
    zone = ZoneInfo(time_zone)
    parts = []
    for start, end in sessions:
        a, b = start.astimezone(zone), end.astimezone(zone)
        parts.append(f"{a:%Y%m%d:%H%M}-{b:%Y%m%d:%H%M}")
    return ";".join(parts)


def con_id_of(local_symbol: str) -> int:
    """Stable per contract, away from the stocks' range (market.con_id_for)."""
    return 300_000_000 + zlib.crc32(local_symbol.encode()) % 100_000_000


class Contracts:
    """Stocks are known by any symbol (as before); futures and options only once defined."""

    def __init__(self) -> None:
        self._stocks: dict[str, ContractInfo] = {}
        self._derivatives: dict[int, ContractInfo] = {}
        self.rules: dict[int, tuple[tuple[Decimal, Decimal], ...]] = dict(DEFAULT_RULES)

    def define(self, info: ContractInfo) -> ContractInfo:
        if info.sec_type == "STK":
            self._stocks[info.symbol] = info
        else:
            self._derivatives[info.con_id] = info
        return info

    def stock(self, symbol: str, currency: str = "USD") -> ContractInfo:
        defined = self._stocks.get(symbol.upper())
        return defined if defined is not None else contract_info(symbol, "STK", currency)

    def by_key(self, local_symbol: str) -> ContractInfo:
        """The contract a position or quote key (its local symbol) names."""
        for info in self._derivatives.values():
            if info.local_symbol == local_symbol:
                return info
        return self.stock(local_symbol)

    def matching(self, p: Parsed) -> list[ContractInfo]:
        """Every contract a request's contract fields describe (IB answers each of them)."""
        con_id = parse_int(p.get("con_id", ""))
        if con_id in self._derivatives:
            return [self._derivatives[con_id]]
        symbol, sec_type = p["symbol"].upper(), p["sec_type"] or "STK"
        if sec_type == "STK":
            if con_id and not symbol:
                return [i for i in self._stocks.values() if i.con_id == con_id]
            return [self.stock(symbol, p.get("currency") or "USD")] if symbol else []
        strike = parse_decimal(p.get("strike", "")) or None
        return [
            info
            for info in self._derivatives.values()
            if info.symbol == symbol
            and info.sec_type == sec_type
            and info.expiry.startswith(p.get("last_trade_date", ""))
            and (strike is None or info.strike == strike)
            and (not p.get("right") or info.right == p["right"][:1].upper())
        ]

    def for_order(self, p: Parsed) -> ContractInfo:
        """The contract an order is placed on; an unknown derivative keeps its own fields."""
        found = self.matching(p)
        if found:
            return found[0]
        return contract_info(p["symbol"], p["sec_type"], p["currency"])


def derivative(
    symbol: str,
    sec_type: str,
    expiry: str,
    multiplier: str,
    *,
    strike: Decimal | None = None,
    right: str = "",
    exchange: str = "",
    **details: Any,
) -> ContractInfo:
    """A future (FUT) or an option (OPT) with IB's usual local symbol and exchange."""
    if sec_type == "FUT":
        local = f"{symbol}{_MONTH_CODES[int(expiry[4:6]) - 1]}{expiry[3]}"
        exchange = exchange or "CME"
    else:
        assert strike is not None and right in ("C", "P")
        millis = int(strike * 1000)
        local = f"{symbol:<6}{expiry[2:8]}{right}{millis:08d}"
        exchange = exchange or "SMART"
    local = str(details.pop("local_symbol", local))
    info = ContractInfo(
        con_id=con_id_of(local),
        symbol=symbol.upper(),
        sec_type=sec_type,
        exchange=exchange,
        primary_exchange=exchange,
        currency="USD",
        local_symbol=local,
        trading_class=symbol.upper(),
        long_name=f"{symbol.upper()} {sec_type} {expiry}",
        expiry=expiry,
        strike=strike,
        right=right,
        multiplier=multiplier,
    )
    return dataclasses.replace(info, **details)


_MONTH_CODES = "FGHJKMNQUVXZ"
