"""Conversions between the writer's domain types and ib_async objects (camelCase stays here)."""

from __future__ import annotations

import copy
import math
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ib_async import Contract, Order, Trade
from ib_async.util import UNSET_DOUBLE

from writer_service.orders import (
    BrokerMessage,
    BrokerOrderView,
    InstrumentSpec,
    OptionRight,
    OrderKind,
    OrderSpec,
    SecKind,
    Side,
    TimeInForce,
)
from writer_service.truth import Fill

# IB has no ETF security type: ETFs trade as STK.
_SEC_TO_IB: Final = {
    SecKind.STOCK: "STK",
    SecKind.ETF: "STK",
    SecKind.FUTURE: "FUT",
    SecKind.OPTION: "OPT",
}
_SEC_FROM_IB: Final = {"STK": SecKind.STOCK, "FUT": SecKind.FUTURE, "OPT": SecKind.OPTION}
# Enum lookups by value, as plain dicts: spec_from_ib runs twice per submit.
_KIND_BY_IB: Final = {kind.value: kind for kind in OrderKind}
_SIDE_BY_IB: Final = {side.value: side for side in Side}
_TIF_BY_IB: Final = {tif.value: tif for tif in TimeInForce}
# Executions say BOT/SLD where orders say BUY/SELL.
_SIDE_BY_EXEC: Final = {"BOT": Side.BUY, "SLD": Side.SELL}


class PlacedOrder(Order):
    """An ib_async Order whose repr names only the fields livegate sets.

    ib_async formats the whole Trade into an f-string on every placeOrder and every status
    change (before its logger decides whether to emit it); the stock Order repr walks some 150
    fields and was a large share of the writer's CPU per submit. Everything else is the stock
    Order: ib_async itself places subclasses (LimitOrder, ...).
    """

    def __repr__(self) -> str:
        return (
            f"Order(orderId={self.orderId}, permId={self.permId}, account={self.account!r}, "
            f"orderRef={self.orderRef!r}, action={self.action!r}, "
            f"totalQuantity={self.totalQuantity}, orderType={self.orderType!r}, "
            f"lmtPrice={self.lmtPrice}, auxPrice={self.auxPrice}, tif={self.tif!r}, "
            f"parentId={self.parentId}, ocaGroup={self.ocaGroup!r})"
        )

    __str__ = __repr__


class PlacedContract(Contract):
    """A Contract with a repr of the fields livegate sets; see PlacedOrder for why."""

    def __repr__(self) -> str:
        return (
            f"Contract(secType={self.secType!r}, symbol={self.symbol!r}, "
            f"exchange={self.exchange!r}, currency={self.currency!r}, "
            f"primaryExchange={self.primaryExchange!r})"
        )

    __str__ = __repr__


def to_decimal(value: Any) -> Decimal | None:
    """A broker number as Decimal; None for IB's 'unset' and for non-finite values."""
    if type(value) is Decimal:  # what livegate places with: no round trip through str
        return value if value.is_finite() else None
    if value is None or value == "":
        return None
    if isinstance(value, float) and (value == UNSET_DOUBLE or not math.isfinite(value)):
        return None
    try:
        # str() of a float is its shortest repr, so 189.25 stays 189.25 rather than a binary tail.
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def contract_for(spec: InstrumentSpec, kind: type[Contract] = Contract) -> Contract:
    """The contract for a quote (a plain Contract: ib_async keys tickers by it)."""
    contract = kind(
        secType=_SEC_TO_IB[spec.sec_kind],
        symbol=spec.symbol,
        exchange=spec.exchange,
        currency=spec.currency,
        primaryExchange=spec.primary_exchange,
    )
    if spec.expiry:
        contract.lastTradeDateOrContractMonth = spec.expiry
    if spec.strike is not None:
        contract.strike = float(spec.strike)  # ib_async sends it with str(): exact for strikes
    if spec.right is not None:
        contract.right = spec.right.value
    return contract


def placement_contract_for(spec: InstrumentSpec) -> Contract:
    """The contract an order is placed with (it becomes the Trade's, formatted per status)."""
    return contract_for(spec, PlacedContract)


def ib_order_for(spec: OrderSpec, account: str, order_ref: str, order_id: int) -> Order:
    order = PlacedOrder(
        orderId=order_id,
        action=spec.side.value,
        totalQuantity=spec.quantity,  # type: ignore[arg-type]  # sent via str(): stays exact
        orderType=spec.kind.value,
        tif=spec.tif.value,
        outsideRth=spec.outside_rth,
        account=account,
        orderRef=order_ref,
        transmit=True,
    )
    if spec.limit_price is not None:
        order.lmtPrice = spec.limit_price  # type: ignore[assignment]
    if spec.stop_price is not None:
        order.auxPrice = spec.stop_price  # type: ignore[assignment]
    return order


def apply_to_ib_order(order: Order, spec: OrderSpec) -> Order:
    """A copy of ORDER carrying SPEC's quantity, prices and tif; everything else unchanged."""
    changed = copy.copy(order)
    changed.totalQuantity = spec.quantity  # type: ignore[assignment]
    changed.tif = spec.tif.value
    if spec.limit_price is not None:
        changed.lmtPrice = spec.limit_price  # type: ignore[assignment]
    if spec.stop_price is not None:
        changed.auxPrice = spec.stop_price  # type: ignore[assignment]
    changed.transmit = True
    return changed


def spec_from_ib(contract: Contract, order: Order) -> OrderSpec | None:
    """The domain order an IB order describes; None when it is outside what livegate places."""
    kind = _KIND_BY_IB.get(order.orderType)
    side = _SIDE_BY_IB.get(order.action)
    tif = _TIF_BY_IB.get(order.tif or "DAY")
    sec = _SEC_FROM_IB.get(contract.secType)
    if kind is None or side is None or tif is None or sec is None:
        return None
    quantity = to_decimal(order.totalQuantity)
    if quantity is None:
        return None
    return OrderSpec(
        instrument=instrument_from_ib(contract, sec),
        side=side,
        quantity=quantity,
        kind=kind,
        limit_price=to_decimal(order.lmtPrice) if kind.needs_limit else None,
        stop_price=to_decimal(order.auxPrice) if kind.needs_stop else None,
        tif=tif,
        outside_rth=bool(order.outsideRth),
    )


_RIGHT_BY_IB: Final = {right.value: right for right in OptionRight}


def instrument_from_ib(contract: Contract, sec: SecKind) -> InstrumentSpec:
    """The instrument an IB contract is, with a derivative's expiry, strike and right."""
    derivative = sec in (SecKind.FUTURE, SecKind.OPTION)
    strike = to_decimal(contract.strike) if sec is SecKind.OPTION else None
    return InstrumentSpec(
        symbol=contract.symbol,
        sec_kind=sec,
        exchange=contract.exchange or "SMART",
        currency=contract.currency or "USD",
        primary_exchange=contract.primaryExchange,
        expiry=contract.lastTradeDateOrContractMonth if derivative else "",
        strike=strike.normalize() if strike is not None else None,
        right=_RIGHT_BY_IB.get(contract.right[:1]) if sec is SecKind.OPTION else None,
    )


def sec_kind_of(contract: Contract) -> SecKind | None:
    return _SEC_FROM_IB.get(contract.secType)


def view_from_trade(trade: Trade, messages: tuple[BrokerMessage, ...] = ()) -> BrokerOrderView:
    status = trade.orderStatus
    order = trade.order
    return BrokerOrderView(
        broker_order_id=int(order.orderId or status.orderId),
        perm_id=int(order.permId or status.permId or 0),
        account_id=order.account,
        order=spec_from_ib(trade.contract, order),
        status=status.status,
        filled=to_decimal(status.filled) or Decimal(0),
        remaining=to_decimal(status.remaining) or Decimal(0),
        avg_fill_price=to_decimal(status.avgFillPrice) or Decimal(0),
        order_ref=order.orderRef or "",
        parent_id=int(order.parentId or 0),
        oca_group=order.ocaGroup or "",
        messages=messages,
    )


def view_from_row(
    contract: Contract, order: Order, status: str, filled: Any = None, avg_price: Any = None
) -> BrokerOrderView:
    """An order as a broker query answered it: STATUS is the broker's, never ib_async's own.

    FILLED defaults to the order's filledQuantity (completed orders carry it).
    """
    spec = spec_from_ib(contract, order)
    done = to_decimal(order.filledQuantity if filled is None else filled) or Decimal(0)
    total = to_decimal(order.totalQuantity) or Decimal(0)
    return BrokerOrderView(
        broker_order_id=int(order.orderId or 0),
        perm_id=int(order.permId or 0),
        account_id=order.account,
        order=spec,
        status=status,
        filled=done,
        remaining=max(Decimal(0), total - done),
        avg_fill_price=to_decimal(avg_price) or Decimal(0),
        order_ref=order.orderRef or "",
        parent_id=int(order.parentId or 0),
        oca_group=order.ocaGroup or "",
    )


def fills_from_ib(fills: list[Any]) -> list[Fill]:
    """Executions summed per order (by permId): what the broker says has filled."""
    by_order: dict[int, Fill] = {}
    for item in fills:
        x, contract = item.execution, item.contract
        side = _SIDE_BY_EXEC.get(x.side)
        sec = _SEC_FROM_IB.get(contract.secType)
        shares = to_decimal(x.cumQty) or to_decimal(x.shares) or Decimal(0)
        if side is None or sec is None:
            continue
        known = by_order.get(int(x.permId))
        if known is not None and known.shares >= shares:
            continue
        by_order[int(x.permId)] = Fill(
            order_ref=x.orderRef or "",
            account_id=x.acctNumber,
            broker_order_id=int(x.orderId),
            perm_id=int(x.permId),
            side=side,
            symbol=contract.symbol,
            sec_kind=sec,
            currency=contract.currency or "USD",
            shares=shares,
            avg_price=to_decimal(x.avgPrice) or Decimal(0),
        )
    return list(by_order.values())
