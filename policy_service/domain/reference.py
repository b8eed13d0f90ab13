"""Broker reference data as the gate sees it: contracts, account state, what-ifs and fills."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policy_service.domain.model import Action, Instrument, instrument_from_dict, instrument_to_dict


@dataclass(frozen=True)
class Session:
    """[start, end) in microseconds since the epoch (UTC)."""

    start_us: int
    end_us: int

    def holds(self, now_us: int) -> bool:
        return self.start_us <= now_us < self.end_us


@dataclass(frozen=True)
class ContractDetails:
    """What the broker says about one contract, and when the writer heard it."""

    instrument: Instrument
    con_id: int
    local_symbol: str
    min_tick: Decimal
    # (low edge, increment) from the lowest price; empty: min_tick everywhere.
    increments: tuple[tuple[Decimal, Decimal], ...]
    multiplier: Decimal
    time_zone: str
    trading: tuple[Session, ...]
    liquid: tuple[Session, ...]
    order_types: tuple[str, ...]
    as_of_us: int

    def tick_at(self, price: Decimal) -> Decimal:
        """The price increment that applies at PRICE (the band whose low edge it reaches)."""
        tick = self.min_tick
        for low_edge, increment in self.increments:
            if price >= low_edge:
                tick = increment
        return tick

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": instrument_to_dict(self.instrument),
            "con_id": self.con_id,
            "local_symbol": self.local_symbol,
            "min_tick": str(self.min_tick),
            "increments": [[str(a), str(b)] for a, b in self.increments],
            "multiplier": str(self.multiplier),
            "time_zone": self.time_zone,
            "trading": [[s.start_us, s.end_us] for s in self.trading],
            "liquid": [[s.start_us, s.end_us] for s in self.liquid],
            "order_types": list(self.order_types),
            "as_of_us": self.as_of_us,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ContractDetails:
        return ContractDetails(
            instrument=instrument_from_dict(data["instrument"]),
            con_id=int(data["con_id"]),
            local_symbol=str(data["local_symbol"]),
            min_tick=Decimal(data["min_tick"]),
            increments=tuple((Decimal(a), Decimal(b)) for a, b in data["increments"]),
            multiplier=Decimal(data["multiplier"]),
            time_zone=str(data["time_zone"]),
            trading=tuple(Session(int(a), int(b)) for a, b in data["trading"]),
            liquid=tuple(Session(int(a), int(b)) for a, b in data["liquid"]),
            order_types=tuple(data["order_types"]),
            as_of_us=int(data["as_of_us"]),
        )


@dataclass(frozen=True)
class Position:
    con_id: int
    quantity: Decimal  # signed: negative is short


@dataclass(frozen=True)
class WorkingOrder:
    broker_order_id: int
    con_id: int
    action: Action
    remaining: Decimal
    order_ref: str


@dataclass(frozen=True)
class AccountState:
    """The account at the broker: holdings, working orders, margin values."""

    positions: tuple[Position, ...]
    working: tuple[WorkingOrder, ...]
    gross_position_value: Decimal | None
    excess_liquidity: Decimal | None
    as_of_us: int
    # When the policy asked: every livegate order finished before this is in the answer.
    asked_at_us: int = 0

    def position(self, con_id: int) -> Decimal:
        return sum((p.quantity for p in self.positions if p.con_id == con_id), Decimal(0))

    def foreign_working(self, con_id: int) -> tuple[Decimal, Decimal]:
        """(buy, sell) quantity of orders working on CON_ID that livegate did not place."""
        buy = sell = Decimal(0)
        for w in self.working:
            if w.con_id != con_id or w.order_ref:
                continue
            if w.action is Action.BUY:
                buy += w.remaining
            else:
                sell += w.remaining
        return buy, sell


@dataclass(frozen=True)
class Margin:
    """A what-if's margin impact; None where the broker computed nothing."""

    init_change: Decimal | None
    maint_after: Decimal | None
    equity_after: Decimal | None
    excess_after: Decimal | None
    as_of_us: int
    extra: Mapping[str, str] = field(default_factory=dict)  # the other figures, for display

    def to_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "init_change": text(self.init_change),
            "maint_after": text(self.maint_after),
            "equity_after": text(self.equity_after),
            "excess_after": text(self.excess_after),
            "as_of_us": self.as_of_us,
            "extra": dict(self.extra),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Margin:
        def number(key: str) -> Decimal | None:
            value = data.get(key)
            return None if value is None else Decimal(value)

        return Margin(
            number("init_change"),
            number("maint_after"),
            number("equity_after"),
            number("excess_after"),
            int(data["as_of_us"]),
            dict(data.get("extra", {})),
        )


@dataclass(frozen=True)
class Fill:
    exec_id: str
    broker_order_id: int
    order_ref: str
    con_id: int
    action: Action
    quantity: Decimal
    price: Decimal
    time_us: int
    # None until the broker's commission report for this exec id has reached the writer.
    commission: Decimal | None = None
    # The order's filled quantity once this execution counted (the broker's cumQty).
    cum_quantity: Decimal | None = None
    # The order's total quantity; None when the writer's session does not know the order.
    order_quantity: Decimal | None = None
