"""Order domain types of the writer: Decimals and enums, no gRPC and no ib_async."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal


class Side(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"


class OrderKind(enum.Enum):
    LIMIT = "LMT"
    MARKET = "MKT"
    STOP = "STP"
    STOP_LIMIT = "STP LMT"

    @property
    def needs_limit(self) -> bool:
        return self in (OrderKind.LIMIT, OrderKind.STOP_LIMIT)

    @property
    def needs_stop(self) -> bool:
        return self in (OrderKind.STOP, OrderKind.STOP_LIMIT)


class TimeInForce(enum.Enum):
    DAY = "DAY"
    GTC = "GTC"


class SecKind(enum.Enum):
    STOCK = "STK"
    ETF = "ETF"
    FUTURE = "FUT"
    OPTION = "OPT"

    @property
    def whole_units(self) -> bool:
        return self in (SecKind.STOCK, SecKind.ETF)


class OptionRight(enum.Enum):
    CALL = "C"
    PUT = "P"


@dataclass(frozen=True)
class InstrumentSpec:
    symbol: str
    sec_kind: SecKind
    exchange: str = "SMART"
    currency: str = "USD"
    primary_exchange: str = ""
    # Futures and options: contract month or last trading day (YYYYMM[DD]); options: strike and
    # right. The broker's contract details say which contract it is.
    expiry: str = ""
    strike: Decimal | None = None
    right: OptionRight | None = None


@dataclass(frozen=True)
class OrderSpec:
    instrument: InstrumentSpec
    side: Side
    quantity: Decimal
    kind: OrderKind
    limit_price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce
    outside_rth: bool = False


@dataclass(frozen=True)
class OrderChangeSet:
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.quantity, self.limit_price, self.stop_price, self.tif))

    def apply(self, spec: OrderSpec) -> OrderSpec:
        """The order with only these bounded changes applied."""
        return replace(
            spec,
            quantity=self.quantity if self.quantity is not None else spec.quantity,
            limit_price=self.limit_price if self.limit_price is not None else spec.limit_price,
            stop_price=self.stop_price if self.stop_price is not None else spec.stop_price,
            tif=self.tif if self.tif is not None else spec.tif,
        )


MAX_MESSAGES = 16
MAX_MESSAGE_TEXT = 500


@dataclass(frozen=True)
class BrokerMessage:
    """What the broker said about an order (IB's error callback): never a verdict by itself."""

    code: int
    message: str
    broker_order_id: int


def bounded_messages(messages: Iterable[BrokerMessage]) -> tuple[BrokerMessage, ...]:
    """The first MAX_MESSAGES, texts cut to MAX_MESSAGE_TEXT: what the contract carries."""
    out: list[BrokerMessage] = []
    for message in messages:
        if len(out) == MAX_MESSAGES:
            break
        out.append(replace(message, message=message.message[:MAX_MESSAGE_TEXT]))
    return tuple(out)


@dataclass(frozen=True)
class BrokerOrderView:
    """What the broker holds for one order."""

    broker_order_id: int
    perm_id: int
    account_id: str
    order: OrderSpec | None
    status: str
    filled: Decimal
    remaining: Decimal
    avg_fill_price: Decimal
    order_ref: str
    parent_id: int = 0
    oca_group: str = ""
    messages: tuple[BrokerMessage, ...] = ()

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATES

    @property
    def is_alive(self) -> bool:
        """Working at the broker, or filled (even in part): what an approval has bought."""
        return self.filled > 0 or self.status not in DEAD_STATES


DONE_STATES: frozenset[str] = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
# Ended without a fill of its own doing: the broker holds nothing that works.
DEAD_STATES: frozenset[str] = frozenset({"Cancelled", "ApiCancelled", "Inactive"})


@dataclass(frozen=True)
class BracketSpec:
    parent: OrderSpec
    take_profit: OrderSpec
    stop_loss: OrderSpec


@dataclass(frozen=True)
class QuoteView:
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None


# Idempotency keys are [A-Za-z0-9._:-] (the policy's step 2; the writer's wire refuses "~"
# too), so no key can spell a leg's orderRef: a submit can never find a bracket leg as its own.
LEG_SEPARATOR = "~"
LEG_SUFFIXES = (f"{LEG_SEPARATOR}tp", f"{LEG_SEPARATOR}sl")


# What the writer's wire accepts as an idempotency key (writer_service.wire.common_fields).
_KEY_REF = re.compile(r"^[A-Za-z0-9._:\-]{1,64}\Z")


def is_livegate_ref(order_ref: str) -> bool:
    """An orderRef livegate gives its orders: a key, or a key with a bracket leg's suffix."""
    for suffix in LEG_SUFFIXES:
        if order_ref.endswith(suffix):
            order_ref = order_ref[: -len(suffix)]
            break
    return bool(_KEY_REF.match(order_ref))


def bracket_refs(key: str) -> tuple[str, str, str]:
    """orderRefs of a bracket's legs: parent (the key itself), take-profit, stop-loss."""
    return key, f"{key}{LEG_SUFFIXES[0]}", f"{key}{LEG_SUFFIXES[1]}"
