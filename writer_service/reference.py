"""Reference data the writer reads from the broker for the policy: Decimals, no ib_async."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from writer_service.orders import InstrumentSpec, Side
from writer_service.trading_hours import Session


@dataclass(frozen=True)
class ContractView:
    instrument: InstrumentSpec
    con_id: int
    local_symbol: str
    min_tick: Decimal
    market_rule_id: int
    increments: tuple[tuple[Decimal, Decimal], ...]  # (low edge, increment)
    multiplier: Decimal
    time_zone: str
    trading: tuple[Session, ...]
    liquid: tuple[Session, ...]
    order_types: tuple[str, ...]
    received_at: datetime


@dataclass(frozen=True)
class PositionView:
    con_id: int
    instrument: InstrumentSpec | None
    quantity: Decimal
    avg_cost: Decimal
    multiplier: Decimal


@dataclass(frozen=True)
class WorkingView:
    broker_order_id: int
    con_id: int
    side: Side
    remaining: Decimal
    order_ref: str


@dataclass(frozen=True)
class AccountView:
    account_id: str
    positions: tuple[PositionView, ...]
    working: tuple[WorkingView, ...]
    values: dict[str, Decimal]  # account summary tag -> value
    received_at: datetime


@dataclass(frozen=True)
class MarginView:
    init_before: Decimal | None
    init_change: Decimal | None
    init_after: Decimal | None
    maint_before: Decimal | None
    maint_change: Decimal | None
    maint_after: Decimal | None
    equity_before: Decimal | None
    equity_change: Decimal | None
    equity_after: Decimal | None
    commission: Decimal | None
    received_at: datetime

    @property
    def excess_after(self) -> Decimal | None:
        """IB's excess liquidity: equity with loan less maintenance margin, after the order."""
        if self.equity_after is None or self.maint_after is None:
            return None
        return self.equity_after - self.maint_after


@dataclass(frozen=True)
class FillView:
    exec_id: str
    broker_order_id: int
    order_ref: str
    con_id: int
    instrument: InstrumentSpec | None
    side: Side
    quantity: Decimal
    price: Decimal
    time: datetime
    # None until the broker's commission report for this exec id has arrived.
    commission: Decimal | None = None
    cum_quantity: Decimal | None = None
    # None when the session does not know the order (placed elsewhere, or before it began).
    order_quantity: Decimal | None = None


@dataclass(frozen=True)
class OrderStatusView:
    broker_order_id: int
    order_ref: str
    status: str
    filled: Decimal
    remaining: Decimal
    changed_at: datetime | None = None
