"""Domain values of the gate: orders, changes, previews, approvals, denials, broker orders."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any


class Action(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


class Tif(enum.StrEnum):
    DAY = "DAY"
    GTC = "GTC"


class SecType(enum.StrEnum):
    STOCK = "STOCK"
    ETF = "ETF"
    FUTURE = "FUTURE"
    OPTION = "OPTION"


class OptionRight(enum.StrEnum):
    CALL = "CALL"
    PUT = "PUT"


class Kind(enum.StrEnum):
    """What a preview (and an idempotency record) is for."""

    ORDER = "ORDER"
    MODIFY = "MODIFY"
    BRACKET_LEG = "BRACKET_LEG"
    SUBMIT = "SUBMIT"
    CANCEL = "CANCEL"
    BRACKET = "BRACKET"


class Leg(enum.StrEnum):
    PARENT = "PARENT"
    TAKE_PROFIT = "TAKE_PROFIT"
    STOP_LOSS = "STOP_LOSS"


class SwitchState(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    # Cancels pass; orders only where they reduce a position without crossing zero.
    REDUCING = "REDUCING"


@dataclass(frozen=True)
class Instrument:
    symbol: str
    sec_type: SecType
    exchange: str = "SMART"
    currency: str = "USD"
    primary_exchange: str = ""
    # Futures and options: contract month or last trading day; options: strike and right.
    expiry: str = ""
    strike: Decimal | None = None
    right: OptionRight | None = None

    @property
    def is_derivative(self) -> bool:
        return self.sec_type in (SecType.FUTURE, SecType.OPTION)


@dataclass(frozen=True)
class OrderSpec:
    instrument: Instrument
    action: Action
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    stop_price: Decimal | None
    tif: Tif
    outside_rth: bool = False

    def price_for_notional(self, reference: Decimal | None) -> Decimal | None:
        """The price a notional is computed at: the limit, else the stop, else the reference."""
        return self.limit_price or self.stop_price or reference


@dataclass(frozen=True)
class Changes:
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: Tif | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.quantity, self.limit_price, self.stop_price, self.tif))

    def apply(self, order: OrderSpec) -> OrderSpec:
        return replace(
            order,
            quantity=self.quantity if self.quantity is not None else order.quantity,
            limit_price=self.limit_price if self.limit_price is not None else order.limit_price,
            stop_price=self.stop_price if self.stop_price is not None else order.stop_price,
            tif=self.tif if self.tif is not None else order.tif,
        )


@dataclass(frozen=True)
class Denial:
    """Why the gate refused: reason code, gRPC status name, gate step and the numbers."""

    reason: str
    code: str
    step: int
    message: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Quote:
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    as_of_us: int

    def reference(self) -> Decimal | None:
        """Mid when both sides are quoted, else last: what collars and notionals compare to."""
        if self.bid is not None and self.ask is not None and self.bid > 0 and self.ask > 0:
            return (self.bid + self.ask) / 2
        return self.last if self.last is not None and self.last > 0 else None


@dataclass(frozen=True)
class LimitCheck:
    name: str
    passed: bool
    reason: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Preview:
    preview_id: str
    kind: Kind
    account_id: str
    order: OrderSpec
    reference_price: Decimal | None
    reference_as_of_us: int
    estimated_notional: Decimal
    checks: tuple[LimitCheck, ...]
    risk_policy_id: str
    created_by: str
    created_at_us: int
    expires_at_us: int
    broker_order_id: int = 0
    changes: Changes | None = None
    group_id: str = ""
    leg: Leg | None = None
    # Since issue 19 (reference.py types; Any here to keep this module free of them): the
    # broker's contract details and what-if margin (None with the writer's reason when they
    # could not be had), MARKET when the order was collared into a limit, the caller's mark
    # on an intended repeat, and the quantity a modify replaces.
    details: Any = None
    details_error: str = ""
    margin: Any = None
    margin_error: str = ""
    requested_type: OrderType | None = None
    intended_duplicate: bool = False
    replaced_quantity: Decimal | None = None
    # The caller's strategy tag (issue 18): a write must carry the same; "" for none.
    strategy: str = ""

    @property
    def would_pass(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass(frozen=True)
class Approval:
    approval_id: str
    preview_id: str
    approved_by: str
    created_at_us: int
    expires_at_us: int
    reserved_key: str | None = None
    consumed_at_us: int | None = None
    # Set by the kill switch's close: an approval granted before a close never outlives it.
    revoked_at_us: int | None = None


@dataclass(frozen=True)
class BrokerMessage:
    """What the broker said about an order; carried with it, never a refusal by itself."""

    code: int
    message: str
    broker_order_id: int


@dataclass(frozen=True)
class BrokerOrder:
    broker_order_id: int
    perm_id: int
    account_id: str
    order: OrderSpec | None
    status: str
    filled: str
    remaining: str
    avg_fill_price: str
    order_ref: str
    parent_id: int = 0
    oca_group: str = ""
    messages: tuple[BrokerMessage, ...] = ()


@dataclass(frozen=True)
class KillSwitch:
    state: SwitchState
    reason: str
    changed_by: str
    changed_at_us: int
    version: int


@dataclass(frozen=True)
class Call:
    """Who asked what: the context every gate decision and audit event carries."""

    method: str
    request_id: str
    principal: str
    scopes: frozenset[str]


# ---- JSON (de)serialisation for storage; Decimals travel as strings -----------------------


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def instrument_to_dict(ins: Instrument) -> dict[str, Any]:
    return {
        "symbol": ins.symbol,
        "sec_type": ins.sec_type.value,
        "exchange": ins.exchange,
        "currency": ins.currency,
        "primary_exchange": ins.primary_exchange,
        "expiry": ins.expiry,
        "strike": _dec(ins.strike),
        "right": ins.right.value if ins.right else None,
    }


def instrument_from_dict(ins: Mapping[str, Any]) -> Instrument:
    return Instrument(
        symbol=ins["symbol"],
        sec_type=SecType(ins["sec_type"]),
        exchange=ins["exchange"],
        currency=ins["currency"],
        primary_exchange=ins.get("primary_exchange", ""),
        expiry=ins.get("expiry", ""),
        strike=_undec(ins.get("strike")),
        right=OptionRight(ins["right"]) if ins.get("right") else None,
    )


def order_to_dict(order: OrderSpec) -> dict[str, Any]:
    return {
        "instrument": instrument_to_dict(order.instrument),
        "action": order.action.value,
        "quantity": str(order.quantity),
        "order_type": order.order_type.value,
        "limit_price": _dec(order.limit_price),
        "stop_price": _dec(order.stop_price),
        "tif": order.tif.value,
        "outside_rth": order.outside_rth,
    }


def order_from_dict(data: Mapping[str, Any]) -> OrderSpec:
    return OrderSpec(
        instrument=instrument_from_dict(data["instrument"]),
        action=Action(data["action"]),
        quantity=Decimal(data["quantity"]),
        order_type=OrderType(data["order_type"]),
        limit_price=_undec(data.get("limit_price")),
        stop_price=_undec(data.get("stop_price")),
        tif=Tif(data["tif"]),
        outside_rth=bool(data.get("outside_rth", False)),
    )


def changes_to_dict(changes: Changes) -> dict[str, Any]:
    return {
        "quantity": _dec(changes.quantity),
        "limit_price": _dec(changes.limit_price),
        "stop_price": _dec(changes.stop_price),
        "tif": changes.tif.value if changes.tif else None,
    }


def changes_from_dict(data: Mapping[str, Any]) -> Changes:
    return Changes(
        quantity=_undec(data.get("quantity")),
        limit_price=_undec(data.get("limit_price")),
        stop_price=_undec(data.get("stop_price")),
        tif=Tif(data["tif"]) if data.get("tif") else None,
    )


def broker_order_to_dict(order: BrokerOrder) -> dict[str, Any]:
    return {
        "broker_order_id": order.broker_order_id,
        "perm_id": order.perm_id,
        "account_id": order.account_id,
        "order": order_to_dict(order.order) if order.order else None,
        "status": order.status,
        "filled": order.filled,
        "remaining": order.remaining,
        "avg_fill_price": order.avg_fill_price,
        "order_ref": order.order_ref,
        "parent_id": order.parent_id,
        "oca_group": order.oca_group,
        "messages": [message_to_dict(m) for m in order.messages],
    }


def message_to_dict(message: BrokerMessage) -> dict[str, Any]:
    return {
        "code": message.code,
        "message": message.message,
        "broker_order_id": message.broker_order_id,
    }


def message_from_dict(data: Mapping[str, Any]) -> BrokerMessage:
    return BrokerMessage(
        int(data["code"]), str(data["message"]), int(data.get("broker_order_id", 0))
    )


def broker_order_from_dict(data: Mapping[str, Any]) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=int(data["broker_order_id"]),
        perm_id=int(data["perm_id"]),
        account_id=str(data["account_id"]),
        order=order_from_dict(data["order"]) if data.get("order") else None,
        status=str(data["status"]),
        filled=str(data["filled"]),
        remaining=str(data["remaining"]),
        avg_fill_price=str(data["avg_fill_price"]),
        order_ref=str(data["order_ref"]),
        parent_id=int(data.get("parent_id", 0)),
        oca_group=str(data.get("oca_group", "")),
        messages=tuple(message_from_dict(m) for m in data.get("messages", ())),
    )
