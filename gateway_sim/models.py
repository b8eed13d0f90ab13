"""Plain dataclasses the simulator exposes for inspection."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

# Status of an order placed with transmit=False: IB keeps it but sends nothing about it.
HELD = "Held"
WORKING_STATES = frozenset({"PreSubmitted", "Submitted"})
DONE_STATES = frozenset({"Filled", "Cancelled"})


@dataclass
class SimOrder:
    """One order as the simulated gateway knows it."""

    order_id: int
    perm_id: int
    client_id: int
    account: str
    symbol: str
    sec_type: str
    exchange: str
    currency: str
    action: str
    total_quantity: Decimal
    order_type: str
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    order_ref: str
    parent_id: int
    oca_group: str
    transmit: bool
    status: str
    filled: Decimal = Decimal(0)
    remaining: Decimal = Decimal(0)
    avg_fill_price: Decimal = Decimal(0)
    what_if: bool = False
    con_id: int = 0
    primary_exchange: str = ""
    oca_type: int = 0
    outside_rth: bool = False
    last_fill_price: Decimal = Decimal(0)
    parent_perm_id: int = 0
    triggered: bool = False
    completed_time: str = ""
    completed_status: str = ""
    # Why IB holds a working order back (e.g. "locate" for a short sale): it cannot fill
    # until the reason clears; reported in orderStatus.whyHeld.
    why_held: str = ""
    placed_fields: dict[str, str] = field(default_factory=dict, repr=False)
    # The contract beyond the symbol: a derivative's own local symbol, expiry, strike, right
    # and multiplier (empty for stocks).
    local_symbol: str = ""
    expiry: str = ""
    strike: Decimal | None = None
    right: str = ""
    multiplier: str = ""

    @property
    def key(self) -> str:
        """What quotes and positions are kept under: the local symbol (a stock's symbol)."""
        return self.local_symbol or self.symbol

    @property
    def is_working(self) -> bool:
        return self.status in WORKING_STATES

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATES


@dataclass(frozen=True)
class SimExecution:
    """One fill."""

    exec_id: str
    order_id: int
    perm_id: int
    account: str
    symbol: str
    side: str
    shares: Decimal
    price: Decimal
    time: dt.datetime
    commission: Decimal
    order_ref: str
    client_id: int = 0
    con_id: int = 0
    sec_type: str = "STK"
    exchange: str = ""
    currency: str = "USD"
    cum_qty: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    local_symbol: str = ""
    expiry: str = ""
    strike: Decimal | None = None
    right: str = ""
    multiplier: str = ""


@dataclass(frozen=True)
class ReceivedMessage:
    """One decoded API message as received; fields[0] is the message id."""

    monotonic_ns: int
    wall_time: dt.datetime
    msg_id: int
    name: str
    fields: list[str]
    client_id: int | None


@dataclass
class Quote:
    """Top of book for one symbol."""

    bid: Decimal
    ask: Decimal
    last: Decimal
    bid_size: Decimal = Decimal(100)
    ask_size: Decimal = Decimal(100)
    last_size: Decimal = Decimal(100)


@dataclass
class Position:
    """Holding of one symbol in one account."""

    quantity: Decimal
    avg_cost: Decimal
