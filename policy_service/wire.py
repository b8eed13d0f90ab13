"""Wire <-> domain: proto messages to validated domain values (gate step 2) and back."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from livegate_api.v1 import common_pb2, policy_pb2
from livegate_common.text import first_bad_text
from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.reopen import ReopenRequest

T = TypeVar("T")
# \Z, not $: $ also matches before a trailing newline, which would let "1\n" through.
_DECIMAL_RE: Final = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,8})?\Z")
_SYMBOL_RE: Final = re.compile(r"^[A-Z0-9.\-]{1,16}\Z")
_EXCHANGE_RE: Final = re.compile(r"^[A-Z0-9.\-_]{1,16}\Z")
_CURRENCY_RE: Final = re.compile(r"^[A-Z]{3}\Z")
_EXPIRY_RE: Final = re.compile(r"^[0-9]{6}([0-9]{2})?\Z")
_ACCOUNT_RE: Final = re.compile(r"^[A-Za-z0-9]{1,32}\Z")
_KEY_RE: Final = re.compile(r"^[A-Za-z0-9._:\-]{8,64}\Z")
_ID_RE: Final = re.compile(r"^[A-Za-z0-9_\-]{1,64}\Z")
# google.protobuf.Timestamp's valid range: 0001-01-01 .. 9999-12-31T23:59:59Z.
_TS_MIN_S: Final = -62_135_596_800
_TS_MAX_S: Final = 253_402_300_799
# BrokerOrder.messages, as the contract bounds them.
MAX_BROKER_MESSAGES: Final = 16
MAX_BROKER_MESSAGE: Final = 500

ACTIONS: Final = {common_pb2.ACTION_BUY: m.Action.BUY, common_pb2.ACTION_SELL: m.Action.SELL}
ORDER_TYPES: Final = {
    common_pb2.ORDER_TYPE_LIMIT: m.OrderType.LIMIT,
    common_pb2.ORDER_TYPE_MARKET: m.OrderType.MARKET,
    common_pb2.ORDER_TYPE_STOP: m.OrderType.STOP,
    common_pb2.ORDER_TYPE_STOP_LIMIT: m.OrderType.STOP_LIMIT,
}
TIFS: Final = {common_pb2.TIME_IN_FORCE_DAY: m.Tif.DAY, common_pb2.TIME_IN_FORCE_GTC: m.Tif.GTC}
RIGHTS: Final = {
    common_pb2.OPTION_RIGHT_CALL: m.OptionRight.CALL,
    common_pb2.OPTION_RIGHT_PUT: m.OptionRight.PUT,
}
SEC_TYPES: Final = {
    common_pb2.SEC_TYPE_STOCK: m.SecType.STOCK,
    common_pb2.SEC_TYPE_ETF: m.SecType.ETF,
    common_pb2.SEC_TYPE_FUTURE: m.SecType.FUTURE,
    common_pb2.SEC_TYPE_OPTION: m.SecType.OPTION,
}


class ShapeError(ValueError):
    """Step 2: the request is malformed; carries the denial to send."""

    def __init__(self, reason: str, message: str, **meta: object):
        super().__init__(message)
        self.denial = m.Denial(
            reason, "INVALID_ARGUMENT", 2, message, {k: str(v) for k, v in meta.items()}
        )


def _inverse(table: Mapping[Any, enum.StrEnum]) -> dict[str, int]:
    return {v.value: int(k) for k, v in table.items()}


ACTION_TO_WIRE: Final = _inverse(ACTIONS)
ORDER_TYPE_TO_WIRE: Final = _inverse(ORDER_TYPES)
TIF_TO_WIRE: Final = _inverse(TIFS)
SEC_TYPE_TO_WIRE: Final = _inverse(SEC_TYPES)
RIGHT_TO_WIRE: Final = _inverse(RIGHTS)


# ---- primitives ------------------------------------------------------------------------------


def text_refusal(msg: Message) -> ShapeError | None:
    """Step 2 for the characters of every text field of MSG: the refusal to send, or None.

    Runs before anything reads or stores the request: PostgreSQL refuses NUL in text where
    SQLite keeps it, so a check left to storage would answer differently per backend.
    """
    bad = first_bad_text(msg)
    if bad is None:
        return None
    return ShapeError(
        reasons.FIELD_INVALID,
        f"{bad.field} holds a control or format character ({bad.code_point})",
        field=bad.field,
        code_point=bad.code_point,
    )


def check_text(msg: Message) -> None:
    """Raise text_refusal(MSG), if any."""
    refusal = text_refusal(msg)
    if refusal is not None:
        raise refusal


def bounded(value: str, field: str, max_len: int, required: bool = True) -> str:
    if required and not value:
        raise ShapeError(reasons.FIELD_REQUIRED, f"{field} is required", field=field)
    if len(value) > max_len:
        raise ShapeError(
            reasons.FIELD_TOO_LONG,
            f"{field} is too long",
            field=field,
            max_length=max_len,
            length=len(value),
        )
    return value


def account(value: str) -> str:
    bounded(value, "account_id", 32)
    if not _ACCOUNT_RE.match(value):
        raise ShapeError(
            reasons.FIELD_INVALID, "account_id has invalid characters", field="account_id"
        )
    return value


def key(value: str) -> str:
    if not _KEY_RE.match(value):
        raise ShapeError(
            reasons.IDEMPOTENCY_KEY_INVALID,
            "idempotency_key must be 8..64 characters of [A-Za-z0-9._:-]",
            length=len(value),
        )
    return value


def ident(value: str, field: str) -> str:
    bounded(value, field, 64)
    if not _ID_RE.match(value):
        raise ShapeError(reasons.FIELD_INVALID, f"{field} has invalid characters", field=field)
    return value


def broker_id(value: int, field: str = "broker_order_id") -> int:
    if value <= 0:
        raise ShapeError(reasons.FIELD_REQUIRED, f"{field} must be > 0", field=field)
    return value


def decimal(value: str, field: str) -> Decimal:
    """A plain positive decimal string, converted once, here."""
    if not value:
        raise ShapeError(reasons.FIELD_REQUIRED, f"{field} is required", field=field)
    if not _DECIMAL_RE.match(value):
        raise ShapeError(reasons.INVALID_DECIMAL, f"{field} is not a plain decimal", field=field)
    try:
        number = Decimal(value)
    except InvalidOperation as exc:  # unreachable after the regex; kept for safety
        raise ShapeError(reasons.INVALID_DECIMAL, f"{field} is not a decimal", field=field) from exc
    if number <= 0:
        raise ShapeError(
            reasons.QUANTITY_NOT_POSITIVE, f"{field} must be > 0", field=field, value=value
        )
    return number


def price(value: str, field: str) -> Decimal:
    """A positive decimal; whether it is on the instrument's tick is the broker's to say (the
    tick comes from its contract details and market rule: step 9, PRICE_NOT_ON_TICK)."""
    return decimal(value, field)


def known(value: int, table: Mapping[Any, T], field: str) -> T:
    """An enum value the contract defines; UNSPECIFIED and unknown numbers are refused."""
    if value not in table:
        raise ShapeError(reasons.FIELD_REQUIRED, f"{field} is unspecified or unknown", field=field)
    return table[value]


# ---- composites ------------------------------------------------------------------------------


def instrument(msg: common_pb2.Instrument) -> m.Instrument:
    symbol = bounded(msg.symbol, "instrument.symbol", 16)
    if not _SYMBOL_RE.match(symbol):
        raise ShapeError(
            reasons.FIELD_INVALID, "symbol must be [A-Z0-9.-]", field="instrument.symbol"
        )
    exchange = bounded(msg.exchange, "instrument.exchange", 16, required=False) or "SMART"
    currency = msg.currency or "USD"
    primary = bounded(msg.primary_exchange, "instrument.primary_exchange", 16, required=False)
    if not _EXCHANGE_RE.match(exchange) or (primary and not _EXCHANGE_RE.match(primary)):
        raise ShapeError(reasons.FIELD_INVALID, "exchange is invalid", field="instrument.exchange")
    if not _CURRENCY_RE.match(currency):
        raise ShapeError(
            reasons.FIELD_INVALID, "currency must be ISO 4217", field="instrument.currency"
        )
    sec_type = known(msg.sec_type, SEC_TYPES, "instrument.sec_type")
    expiry, strike, right = _contract(msg, sec_type)
    return m.Instrument(symbol, sec_type, exchange, currency, primary, expiry, strike, right)


def _contract(
    msg: common_pb2.Instrument, sec_type: m.SecType
) -> tuple[str, Decimal | None, m.OptionRight | None]:
    """A derivative's expiry (futures, options), strike and right (options): required where they
    apply, refused elsewhere."""
    derivative, option = (
        sec_type in (m.SecType.FUTURE, m.SecType.OPTION),
        sec_type is m.SecType.OPTION,
    )
    if bool(msg.expiry) != derivative or (msg.expiry and not _EXPIRY_RE.match(msg.expiry)):
        raise ShapeError(
            reasons.FIELD_INVALID,
            "expiry: YYYYMM or YYYYMMDD, for futures and options only",
            field="instrument.expiry",
        )
    has_right = msg.right != common_pb2.OPTION_RIGHT_UNSPECIFIED
    if bool(msg.strike) != option or has_right != option:
        raise ShapeError(
            reasons.FIELD_INVALID,
            "strike and right: for options only, and both required there",
            field="instrument.strike",
        )
    if not option:
        return msg.expiry, None, None
    return (
        msg.expiry,
        decimal(msg.strike, "instrument.strike"),
        known(msg.right, RIGHTS, "instrument.right"),
    )


def quantity(value: str, field: str, ins: m.Instrument) -> Decimal:
    number = decimal(value, field)
    if ins.sec_type in (m.SecType.STOCK, m.SecType.ETF) and number != number.to_integral_value():
        raise ShapeError(reasons.QUANTITY_NOT_WHOLE, "stocks trade whole shares", quantity=value)
    return number


def order(msg: common_pb2.Order) -> m.OrderSpec:
    if not msg.HasField("instrument"):
        raise ShapeError(
            reasons.FIELD_REQUIRED, "order.instrument is required", field="order.instrument"
        )
    ins = instrument(msg.instrument)
    order_type = known(msg.order_type, ORDER_TYPES, "order.order_type")
    wants_limit = order_type in (m.OrderType.LIMIT, m.OrderType.STOP_LIMIT)
    wants_stop = order_type in (m.OrderType.STOP, m.OrderType.STOP_LIMIT)
    for field_name, raw, wanted in (
        ("order.limit_price", msg.limit_price, wants_limit),
        ("order.stop_price", msg.stop_price, wants_stop),
    ):
        if raw and not wanted:
            raise ShapeError(
                reasons.PRICE_NOT_ALLOWED,
                f"{field_name} not allowed for {order_type}",
                field=field_name,
                order_type=order_type.value,
            )
    return m.OrderSpec(
        instrument=ins,
        action=known(msg.action, ACTIONS, "order.action"),
        quantity=quantity(msg.quantity, "order.quantity", ins),
        order_type=order_type,
        limit_price=price(msg.limit_price, "order.limit_price") if wants_limit else None,
        stop_price=price(msg.stop_price, "order.stop_price") if wants_stop else None,
        tif=known(msg.time_in_force, TIFS, "order.time_in_force"),
        outside_rth=msg.outside_rth,
    )


def changes(msg: common_pb2.OrderChanges) -> m.Changes:
    """Bounded changes; an empty set is refused here, before any state is written."""
    result = m.Changes(
        quantity=decimal(msg.quantity, "changes.quantity") if msg.HasField("quantity") else None,
        limit_price=price(msg.limit_price, "changes.limit_price")
        if msg.HasField("limit_price")
        else None,
        stop_price=price(msg.stop_price, "changes.stop_price")
        if msg.HasField("stop_price")
        else None,
        tif=known(msg.time_in_force, TIFS, "changes.time_in_force")
        if msg.HasField("time_in_force")
        else None,
    )
    if result.is_empty():
        raise ShapeError(reasons.CHANGES_EMPTY, "a modify must change at least one field")
    return result


def bracket_legs(
    req: policy_pb2.CreateBracketPreviewRequest,
) -> tuple[m.OrderSpec, m.OrderSpec, m.OrderSpec]:
    ins = instrument(req.instrument)
    action = known(req.action, ACTIONS, "action")
    qty = quantity(req.quantity, "quantity", ins)
    entry = price(req.entry_limit_price, "entry_limit_price")
    take = price(req.take_profit_price, "take_profit_price")
    stop = price(req.stop_loss_price, "stop_loss_price")
    tif = known(req.time_in_force, TIFS, "time_in_force")
    ordered = stop < entry < take if action is m.Action.BUY else take < entry < stop
    if not ordered:
        raise ShapeError(
            reasons.BRACKET_PRICES_INVALID,
            "take-profit and stop-loss must straddle the entry",
            entry=entry,
            take_profit=take,
            stop_loss=stop,
            action=action.value,
        )
    exit_side = m.Action.SELL if action is m.Action.BUY else m.Action.BUY
    return (
        m.OrderSpec(ins, action, qty, m.OrderType.LIMIT, entry, None, tif),
        m.OrderSpec(ins, exit_side, qty, m.OrderType.LIMIT, take, None, tif),
        m.OrderSpec(ins, exit_side, qty, m.OrderType.STOP, None, stop, tif),
    )


# ---- domain -> wire --------------------------------------------------------------------------


def ts(us: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=us // 1_000_000, nanos=(us % 1_000_000) * 1000)


def ts_us(stamp: timestamp_pb2.Timestamp) -> int:
    return stamp.seconds * 1_000_000 + stamp.nanos // 1000


def timestamp_us(stamp: timestamp_pb2.Timestamp, field: str) -> int:
    """A caller's timestamp within the Timestamp contract (years 1..9999), else refused."""
    if not (_TS_MIN_S <= stamp.seconds <= _TS_MAX_S and 0 <= stamp.nanos <= 999_999_999):
        raise ShapeError(reasons.FIELD_INVALID, f"{field} is out of range", field=field)
    return ts_us(stamp)


def _str(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def instrument_to_wire(ins: m.Instrument) -> common_pb2.Instrument:
    return common_pb2.Instrument(
        symbol=ins.symbol,
        sec_type=SEC_TYPE_TO_WIRE[ins.sec_type.value],  # type: ignore[arg-type]
        exchange=ins.exchange,
        currency=ins.currency,
        primary_exchange=ins.primary_exchange,
        expiry=ins.expiry,
        strike=_str(ins.strike),
        right=RIGHT_TO_WIRE[ins.right.value] if ins.right else 0,  # type: ignore[arg-type]
    )


def order_to_wire(order: m.OrderSpec) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=instrument_to_wire(order.instrument),
        action=ACTION_TO_WIRE[order.action.value],  # type: ignore[arg-type]
        quantity=str(order.quantity),
        order_type=ORDER_TYPE_TO_WIRE[order.order_type.value],  # type: ignore[arg-type]
        limit_price=_str(order.limit_price),
        stop_price=_str(order.stop_price),
        time_in_force=TIF_TO_WIRE[order.tif.value],  # type: ignore[arg-type]
        outside_rth=order.outside_rth,
    )


def changes_to_wire(ch: m.Changes) -> common_pb2.OrderChanges:
    msg = common_pb2.OrderChanges()
    if ch.quantity is not None:
        msg.quantity = str(ch.quantity)
    if ch.limit_price is not None:
        msg.limit_price = str(ch.limit_price)
    if ch.stop_price is not None:
        msg.stop_price = str(ch.stop_price)
    if ch.tif is not None:
        msg.time_in_force = TIF_TO_WIRE[ch.tif.value]  # type: ignore[assignment]
    return msg


def broker_order_to_wire(o: m.BrokerOrder) -> common_pb2.BrokerOrder:
    msg = common_pb2.BrokerOrder(
        broker_order_id=o.broker_order_id,
        perm_id=o.perm_id,
        account_id=o.account_id,
        status=o.status,
        filled=o.filled,
        remaining=o.remaining,
        avg_fill_price=o.avg_fill_price,
        order_ref=o.order_ref,
        parent_id=o.parent_id,
        oca_group=o.oca_group,
        messages=[
            common_pb2.BrokerMessage(
                code=b.code, message=b.message, broker_order_id=b.broker_order_id
            )
            for b in o.messages
        ],
    )
    if o.order is not None:
        msg.order.CopyFrom(order_to_wire(o.order))
    return msg


def broker_order_from_wire(msg: common_pb2.BrokerOrder) -> m.BrokerOrder:
    """The writer's answer; an order it describes that we cannot parse is kept without it."""
    try:
        spec: m.OrderSpec | None = order(msg.order) if msg.HasField("order") else None
    except ShapeError:
        spec = None
    return m.BrokerOrder(
        broker_order_id=msg.broker_order_id,
        perm_id=msg.perm_id,
        account_id=msg.account_id,
        order=spec,
        status=msg.status,
        filled=msg.filled,
        remaining=msg.remaining,
        avg_fill_price=msg.avg_fill_price,
        order_ref=msg.order_ref,
        parent_id=msg.parent_id,
        oca_group=msg.oca_group,
        # The contract bounds them; a writer that sent more is cut here, not trusted.
        messages=tuple(
            m.BrokerMessage(b.code, b.message[:MAX_BROKER_MESSAGE], b.broker_order_id)
            for b in msg.messages[:MAX_BROKER_MESSAGES]
        ),
    )


def preview_to_wire(p: m.Preview) -> policy_pb2.Preview:
    kinds = {
        m.Kind.ORDER: policy_pb2.PREVIEW_KIND_ORDER,
        m.Kind.MODIFY: policy_pb2.PREVIEW_KIND_MODIFY,
        m.Kind.BRACKET_LEG: policy_pb2.PREVIEW_KIND_BRACKET_LEG,
    }
    legs = {
        m.Leg.PARENT: common_pb2.BRACKET_LEG_PARENT,
        m.Leg.TAKE_PROFIT: common_pb2.BRACKET_LEG_TAKE_PROFIT,
        m.Leg.STOP_LOSS: common_pb2.BRACKET_LEG_STOP_LOSS,
    }
    msg = policy_pb2.Preview(
        preview_id=p.preview_id,
        kind=kinds[p.kind],
        account_id=p.account_id,
        order=order_to_wire(p.order),
        reference_price=_str(p.reference_price),
        estimated_notional=str(p.estimated_notional),
        checks=[
            policy_pb2.LimitCheck(
                name=c.name, passed=c.passed, reason=c.reason, metadata=dict(c.metadata)
            )
            for c in p.checks
        ],
        would_pass=p.would_pass,
        risk_policy_id=p.risk_policy_id,
        created_by=p.created_by,
        created_at=ts(p.created_at_us),
        expires_at=ts(p.expires_at_us),
        broker_order_id=p.broker_order_id,
        group_id=p.group_id,
        leg=legs[p.leg] if p.leg else common_pb2.BRACKET_LEG_UNSPECIFIED,
        strategy=p.strategy,
    )
    if p.changes is not None:
        msg.changes.CopyFrom(changes_to_wire(p.changes))
    return msg


SWITCH_STATES: Final = {
    m.SwitchState.OPEN: common_pb2.KILL_SWITCH_STATE_OPEN,
    m.SwitchState.REDUCING: common_pb2.KILL_SWITCH_STATE_REDUCING,
    m.SwitchState.CLOSED: common_pb2.KILL_SWITCH_STATE_CLOSED,
}


def switch_to_wire(s: m.KillSwitch, pending: ReopenRequest | None = None) -> common_pb2.KillSwitch:
    msg = common_pb2.KillSwitch(
        state=SWITCH_STATES[s.state],
        reason=s.reason,
        changed_by=s.changed_by,
        changed_at=ts(s.changed_at_us),
        version=s.version,
    )
    if pending is not None:
        msg.pending_reopen.CopyFrom(
            common_pb2.ReopenRequest(
                reopen_id=pending.reopen_id,
                requested_by=pending.requested_by,
                reason=pending.reason,
                request_id=pending.request_id,
                requested_at=ts(pending.requested_at_us),
                expires_at=ts(pending.expires_at_us),
                switch_version=pending.switch_version,
                target_state=SWITCH_STATES[pending.target],
            )
        )
    return msg
