"""Wire <-> domain for the writer: validate requests once, at the boundary, into Decimals."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from google.protobuf import duration_pb2
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from livegate_api.v1 import common_pb2, writer_pb2
from livegate_common.text import first_bad_text
from writer_service.errors import WriterError, invalid
from writer_service.orders import (
    LEG_SUFFIXES,
    BrokerOrderView,
    InstrumentSpec,
    OptionRight,
    OrderChangeSet,
    OrderKind,
    OrderSpec,
    SecKind,
    Side,
    TimeInForce,
)

E = TypeVar("E")
K = TypeVar("K")
V = TypeVar("V")
MAX_REQUEST_ID: Final = 64
MAX_ACCOUNT_ID: Final = 32
MAX_IDEMPOTENCY_KEY: Final = 64
# A bracket leg's orderRef is its key and a LEG_SUFFIXES entry.
MAX_ORDER_REF: Final = MAX_IDEMPOTENCY_KEY + max(len(s) for s in LEG_SUFFIXES)
# The policy's key characters: LEG_SEPARATOR is not one of them, so no key names a leg.
_KEY: Final = re.compile(r"^[A-Za-z0-9._:\-]+\Z")
MAX_REASON: Final = 500
# ASCII digits only (\d also takes "١٢"), and \Z, not $ (which lets "1\n" through).
_DECIMAL: Final = re.compile(r"^-?[0-9]{1,15}(\.[0-9]{1,10})?\Z")
_SYMBOL: Final = re.compile(r"^[A-Z0-9.\-]{1,16}\Z")
_CURRENCY: Final = re.compile(r"^[A-Z]{3}\Z")
_EXPIRY: Final = re.compile(r"^[0-9]{6}([0-9]{2})?\Z")

_SIDES: Final = {common_pb2.ACTION_BUY: Side.BUY, common_pb2.ACTION_SELL: Side.SELL}
_KINDS: Final = {
    common_pb2.ORDER_TYPE_LIMIT: OrderKind.LIMIT,
    common_pb2.ORDER_TYPE_MARKET: OrderKind.MARKET,
    common_pb2.ORDER_TYPE_STOP: OrderKind.STOP,
    common_pb2.ORDER_TYPE_STOP_LIMIT: OrderKind.STOP_LIMIT,
}
_TIFS: Final = {
    common_pb2.TIME_IN_FORCE_DAY: TimeInForce.DAY,
    common_pb2.TIME_IN_FORCE_GTC: TimeInForce.GTC,
}
_RIGHTS: Final = {
    common_pb2.OPTION_RIGHT_CALL: OptionRight.CALL,
    common_pb2.OPTION_RIGHT_PUT: OptionRight.PUT,
}
_SECS: Final = {
    common_pb2.SEC_TYPE_STOCK: SecKind.STOCK,
    common_pb2.SEC_TYPE_ETF: SecKind.ETF,
    common_pb2.SEC_TYPE_FUTURE: SecKind.FUTURE,
    common_pb2.SEC_TYPE_OPTION: SecKind.OPTION,
}


def _reverse(mapping: Mapping[K, V]) -> dict[V, K]:
    return {v: k for k, v in mapping.items()}


# Built once: order_to_wire runs for every answer.
_SECS_OUT: Final = _reverse(_SECS)
_SIDES_OUT: Final = _reverse(_SIDES)
_KINDS_OUT: Final = _reverse(_KINDS)
_TIFS_OUT: Final = _reverse(_TIFS)
_RIGHTS_OUT: Final = _reverse(_RIGHTS)


def decimal_field(raw: str, field: str) -> Decimal:
    """A positive plain decimal, or INVALID_DECIMAL / FIELD_REQUIRED naming the field."""
    if not raw:
        raise invalid("FIELD_REQUIRED", field, "is required")
    if not _DECIMAL.match(raw):
        raise invalid("INVALID_DECIMAL", field, "must be a plain decimal number", value=raw[:32])
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise invalid("INVALID_DECIMAL", field, "must be a plain decimal number") from None
    if value <= 0:
        raise invalid("INVALID_DECIMAL", field, "must be greater than zero", value=raw)
    return value


def text_refusal(msg: Message) -> WriterError | None:
    """The refusal for a control or format character in any text field of MSG, or None."""
    bad = first_bad_text(msg)
    if bad is None:
        return None
    return invalid(
        "FIELD_INVALID",
        bad.field,
        f"holds a control or format character ({bad.code_point})",
        code_point=bad.code_point,
    )


def check_text(msg: Message) -> None:
    refusal = text_refusal(msg)
    if refusal is not None:
        raise refusal


def bounded(raw: str, field: str, limit: int, *, required: bool = True) -> str:
    if required and not raw:
        raise invalid("FIELD_REQUIRED", field, "is required")
    if len(raw) > limit:
        raise invalid(
            "FIELD_TOO_LONG", field, f"is longer than {limit}", limit=limit, length=len(raw)
        )
    return raw


def _enum(raw: int, table: Mapping[Any, E], field: str) -> E:
    if raw not in table:
        raise invalid("FIELD_REQUIRED", field, "must be set to a known value", value=raw)
    return table[raw]


def instrument(msg: common_pb2.Instrument, field: str = "instrument") -> InstrumentSpec:
    if not msg.symbol:
        raise invalid("FIELD_REQUIRED", f"{field}.symbol", "is required")
    if not _SYMBOL.match(msg.symbol):
        raise invalid("FIELD_INVALID", f"{field}.symbol", "must be 1..16 of [A-Z0-9.-]")
    exchange = bounded(msg.exchange, f"{field}.exchange", 16, required=False) or "SMART"
    currency = msg.currency or "USD"
    if not _CURRENCY.match(currency):
        raise invalid("FIELD_INVALID", f"{field}.currency", "must be 3 upper-case letters")
    sec = _enum(msg.sec_type, _SECS, f"{field}.sec_type")
    primary = bounded(msg.primary_exchange, f"{field}.primary_exchange", 16, required=False)
    return InstrumentSpec(msg.symbol, sec, exchange, currency, primary, *_contract(msg, sec, field))


def _contract(
    msg: common_pb2.Instrument, sec: SecKind, field: str
) -> tuple[str, Decimal | None, OptionRight | None]:
    """A derivative's expiry, strike and right: required where they apply, refused elsewhere."""
    derivative, option = sec in (SecKind.FUTURE, SecKind.OPTION), sec is SecKind.OPTION
    if bool(msg.expiry) != derivative:
        raise invalid("FIELD_INVALID", f"{field}.expiry", "required for futures and options only")
    if msg.expiry and not _EXPIRY.match(msg.expiry):
        raise invalid("FIELD_INVALID", f"{field}.expiry", "must be YYYYMM or YYYYMMDD")
    if bool(msg.strike) != option or (msg.right != common_pb2.OPTION_RIGHT_UNSPECIFIED) != option:
        raise invalid("FIELD_INVALID", f"{field}.strike", "strike and right: options only")
    if not option:
        return msg.expiry, None, None
    strike = decimal_field(msg.strike, f"{field}.strike")
    return msg.expiry, strike, _enum(msg.right, _RIGHTS, f"{field}.right")


def order(msg: common_pb2.Order, field: str = "order") -> OrderSpec:
    inst = instrument(msg.instrument, f"{field}.instrument")
    side = _enum(msg.action, _SIDES, f"{field}.action")
    kind = _enum(msg.order_type, _KINDS, f"{field}.order_type")
    tif = _enum(msg.time_in_force, _TIFS, f"{field}.time_in_force")
    quantity = decimal_field(msg.quantity, f"{field}.quantity")
    if inst.sec_kind.whole_units and quantity != quantity.to_integral_value():
        raise invalid(
            "INVALID_DECIMAL", f"{field}.quantity", "must be whole units", value=msg.quantity
        )
    limit = _price(msg.limit_price, f"{field}.limit_price", kind.needs_limit)
    stop = _price(msg.stop_price, f"{field}.stop_price", kind.needs_stop)
    return OrderSpec(inst, side, quantity, kind, limit, stop, tif, msg.outside_rth)


def _price(raw: str, field: str, needed: bool) -> Decimal | None:
    if needed and not raw:
        raise invalid("FIELD_REQUIRED", field, "is required for this order type")
    if not needed and raw:
        raise invalid("FIELD_NOT_ALLOWED", field, "must be empty for this order type")
    return decimal_field(raw, field) if raw else None


def changes(msg: common_pb2.OrderChanges) -> OrderChangeSet:
    tif: TimeInForce | None = None
    if msg.HasField("time_in_force"):
        tif = _enum(msg.time_in_force, _TIFS, "changes.time_in_force")
    out = OrderChangeSet(
        quantity=decimal_field(msg.quantity, "changes.quantity")
        if msg.HasField("quantity")
        else None,
        limit_price=decimal_field(msg.limit_price, "changes.limit_price")
        if msg.HasField("limit_price")
        else None,
        stop_price=decimal_field(msg.stop_price, "changes.stop_price")
        if msg.HasField("stop_price")
        else None,
        tif=tif,
    )
    if out.is_empty():
        raise invalid("CHANGES_EMPTY", "changes", "a modify must change at least one field")
    return out


def common_fields(request_id: str, account_id: str, key: str | None) -> None:
    bounded(request_id, "request_id", MAX_REQUEST_ID, required=False)
    bounded(account_id, "account_id", MAX_ACCOUNT_ID)
    if key is not None:
        bounded(key, "idempotency_key", MAX_IDEMPOTENCY_KEY)
        if not _KEY.match(key):
            raise invalid("FIELD_INVALID", "idempotency_key", "must be of [A-Za-z0-9._:-]")


def _dec(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def instrument_to_wire(spec: InstrumentSpec) -> common_pb2.Instrument:
    return common_pb2.Instrument(
        symbol=spec.symbol,
        sec_type=_SECS_OUT[spec.sec_kind],
        exchange=spec.exchange,
        currency=spec.currency,
        primary_exchange=spec.primary_exchange,
        expiry=spec.expiry,
        strike=_dec(spec.strike),
        right=_RIGHTS_OUT[spec.right] if spec.right else common_pb2.OPTION_RIGHT_UNSPECIFIED,
    )


def order_to_wire(spec: OrderSpec) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=instrument_to_wire(spec.instrument),
        action=_SIDES_OUT[spec.side],
        quantity=_dec(spec.quantity),
        order_type=_KINDS_OUT[spec.kind],
        limit_price=_dec(spec.limit_price),
        stop_price=_dec(spec.stop_price),
        time_in_force=_TIFS_OUT[spec.tif],
        outside_rth=spec.outside_rth,
    )


def broker_order(view: BrokerOrderView) -> common_pb2.BrokerOrder:
    msg = common_pb2.BrokerOrder(
        broker_order_id=view.broker_order_id,
        perm_id=view.perm_id,
        account_id=view.account_id,
        status=view.status,
        filled=_dec(view.filled) or "0",
        remaining=_dec(view.remaining) or "0",
        avg_fill_price=_dec(view.avg_fill_price) or "0",
        order_ref=view.order_ref,
        parent_id=view.parent_id,
        oca_group=view.oca_group,
        messages=[
            common_pb2.BrokerMessage(
                code=m.code, message=m.message, broker_order_id=m.broker_order_id
            )
            for m in view.messages
        ],
    )
    if view.order is not None:
        msg.order.CopyFrom(order_to_wire(view.order))
    return msg


def order_result(view: BrokerOrderView, reconciled: bool) -> writer_pb2.WriterOrderResult:
    return writer_pb2.WriterOrderResult(order=broker_order(view), reconciled=reconciled)


def timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(round(seconds * 1e9))
    return out


def decimal_text(value: Decimal | None) -> str:
    return _dec(value)


__all__ = ["WriterError"]
