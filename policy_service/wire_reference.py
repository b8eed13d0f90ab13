"""The writer's reference data (wire) -> the gate's domain values, converted once, here."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from livegate_api.v1 import common_pb2, policy_pb2, writer_pb2
from policy_service import wire
from policy_service.domain import model as m
from policy_service.domain.checklist import Acknowledgement, Verdict
from policy_service.domain.order_life import OrderStatusReport
from policy_service.domain.ports import WriterError
from policy_service.domain.reference import (
    AccountState,
    ContractDetails,
    Fill,
    Margin,
    Position,
    Session,
    WorkingOrder,
)
from policy_service.domain.runaway import PrincipalStop

_ACTIONS = {common_pb2.ACTION_BUY: m.Action.BUY, common_pb2.ACTION_SELL: m.Action.SELL}


def decimal_or_none(value: str) -> Decimal | None:
    """A decimal the writer sent, or None for empty or not a finite decimal."""
    try:
        number = Decimal(value) if value else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() else None


def _required(value: str, what: str) -> Decimal:
    number = decimal_or_none(value)
    if number is None:
        # The writer broke its own contract: nothing is guessed, the data is unavailable.
        raise WriterError("REFUSED", "FAILED_PRECONDITION", "WRITER_ANSWER_INVALID", what)
    return number


def _sessions(items: list[common_pb2.TradingSession]) -> tuple[Session, ...]:
    return tuple(Session(wire.ts_us(s.start), wire.ts_us(s.end)) for s in items)


def contract_details(msg: writer_pb2.ContractDetails) -> ContractDetails:
    try:
        instrument = wire.instrument(msg.instrument)
    except wire.ShapeError as exc:
        raise WriterError(
            "REFUSED", "FAILED_PRECONDITION", "WRITER_ANSWER_INVALID", str(exc)
        ) from None
    min_tick = _required(msg.min_tick, "min_tick")
    multiplier = _required(msg.multiplier, "multiplier")
    increments = tuple(
        (_required(i.low_edge, "low_edge"), _required(i.increment, "increment"))
        for i in msg.price_increments
    )
    if min_tick <= 0 or multiplier <= 0 or any(step <= 0 for _low, step in increments):
        raise WriterError("REFUSED", "FAILED_PRECONDITION", "WRITER_ANSWER_INVALID", "tick")
    return ContractDetails(
        instrument=instrument,
        con_id=msg.con_id,
        local_symbol=msg.local_symbol,
        min_tick=min_tick,
        increments=increments,
        multiplier=multiplier,
        time_zone=msg.time_zone,
        trading=_sessions(list(msg.trading_sessions)),
        liquid=_sessions(list(msg.liquid_sessions)),
        order_types=tuple(msg.order_types),
        as_of_us=wire.ts_us(msg.as_of),
    )


def account_state(msg: writer_pb2.AccountState) -> AccountState:
    return AccountState(
        positions=tuple(
            Position(p.con_id, _required(p.quantity, "quantity")) for p in msg.positions
        ),
        working=tuple(
            WorkingOrder(
                w.broker_order_id,
                w.con_id,
                _ACTIONS.get(w.action, m.Action.BUY),
                _required(w.remaining, "remaining"),
                w.order_ref,
            )
            for w in msg.working_orders
        ),
        gross_position_value=decimal_or_none(msg.gross_position_value),
        excess_liquidity=decimal_or_none(msg.excess_liquidity),
        as_of_us=wire.ts_us(msg.as_of),
    )


def margin(msg: common_pb2.MarginImpact) -> Margin:
    extra = {
        name: getattr(msg, name)
        for name in (
            "init_margin_before", "init_margin_after", "maint_margin_before",
            "maint_margin_change", "equity_with_loan_before", "equity_with_loan_change",
            "commission",
        )
        if getattr(msg, name)
    }  # fmt: skip
    return Margin(
        init_change=decimal_or_none(msg.init_margin_change),
        maint_after=decimal_or_none(msg.maint_margin_after),
        equity_after=decimal_or_none(msg.equity_with_loan_after),
        excess_after=decimal_or_none(msg.excess_liquidity_after),
        as_of_us=wire.ts_us(msg.as_of),
        extra=extra,
    )


def margin_to_wire(value: Margin) -> common_pb2.MarginImpact:
    def text(number: Decimal | None) -> str:
        return "" if number is None else str(number)

    return common_pb2.MarginImpact(
        init_margin_change=text(value.init_change),
        maint_margin_after=text(value.maint_after),
        equity_with_loan_after=text(value.equity_after),
        excess_liquidity_after=text(value.excess_after),
        as_of=wire.ts(value.as_of_us),
        **dict(value.extra),
    )


def fills(msg: writer_pb2.ListFillsResponse) -> list[Fill]:
    return [
        Fill(
            exec_id=f.exec_id,
            broker_order_id=f.broker_order_id,
            order_ref=f.order_ref,
            con_id=f.con_id,
            action=_ACTIONS.get(f.action, m.Action.BUY),
            quantity=_required(f.quantity, "quantity"),
            price=_required(f.price, "price"),
            time_us=wire.ts_us(f.time),
            commission=decimal_or_none(f.commission),
            cum_quantity=decimal_or_none(f.cum_quantity),
            order_quantity=decimal_or_none(f.order_quantity),
        )
        for f in msg.fills
        if f.exec_id
    ]


def order_statuses(msg: writer_pb2.ListOrderStatusesResponse) -> list[OrderStatusReport]:
    return [
        OrderStatusReport(
            broker_order_id=o.broker_order_id,
            order_ref=o.order_ref,
            status=o.status,
            filled=_required(o.filled, "filled"),
            remaining=_required(o.remaining, "remaining"),
            changed_at_us=wire.ts_us(o.changed_at) if o.HasField("changed_at") else 0,
        )
        for o in msg.orders
        if o.status and o.order_ref
    ]


def preview_to_wire(p: m.Preview) -> policy_pb2.Preview:
    """The preview with what the broker said about its instrument and margin."""
    msg = wire.preview_to_wire(p)
    msg.market_order_collared = p.requested_type is m.OrderType.MARKET
    msg.intended_duplicate = p.intended_duplicate
    details: ContractDetails | None = p.details
    if details is not None:
        at = p.order.limit_price or p.order.stop_price or p.reference_price or details.min_tick
        msg.instrument_details.CopyFrom(
            policy_pb2.InstrumentDetails(
                con_id=details.con_id,
                local_symbol=details.local_symbol,
                multiplier=str(details.multiplier),
                price_tick=str(details.tick_at(at)),
                time_zone=details.time_zone,
            )
        )
    if p.margin is not None:
        msg.margin.CopyFrom(margin_to_wire(p.margin))
    return msg


def acknowledgement_to_wire(
    ack: Acknowledgement, verdict: Verdict | None = None
) -> policy_pb2.ChecklistAcknowledgement:
    msg = policy_pb2.ChecklistAcknowledgement(
        acknowledged_by=ack.acknowledged_by,
        acknowledged_at=wire.ts(ack.acknowledged_at_us),
        risk_policy_id=ack.risk_policy_id,
        risk_policy_digest=ack.risk_policy_digest,
        livegate_version=ack.livegate_version,
        note=ack.note,
        audit_event_id=ack.audit_event_id,
    )
    if verdict is not None:
        msg.valid = verdict.valid
        msg.detail = "" if verdict.valid else verdict.detail
        msg.expires_at.CopyFrom(wire.ts(verdict.expires_at_us))
    return msg


def stop_to_wire(stop: PrincipalStop) -> policy_pb2.PrincipalStop:
    msg = policy_pb2.PrincipalStop(
        principal=stop.principal,
        reason=stop.reason,
        stopped_at=wire.ts(stop.stopped_at_us),
        detail=dict(stop.detail),
        reset_by=stop.reset_by,
        audit_event_id=stop.audit_event_id,
    )
    if stop.reset_at_us:
        msg.reset_at.CopyFrom(wire.ts(stop.reset_at_us))
    return msg
