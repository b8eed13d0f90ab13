"""Reference data -> wire for the writer's read-only calls (contract details, account, fills)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp

from livegate_api.v1 import common_pb2, writer_pb2
from writer_service.orders import Side
from writer_service.reference import (
    AccountView,
    ContractView,
    FillView,
    MarginView,
    OrderStatusView,
)
from writer_service.trading_hours import Session
from writer_service.wire import decimal_text, instrument_to_wire, timestamp

_SIDES = {Side.BUY: common_pb2.ACTION_BUY, Side.SELL: common_pb2.ACTION_SELL}


def _text(value: Decimal | None) -> str:
    return decimal_text(value)


def _sessions(items: tuple[Session, ...]) -> list[common_pb2.TradingSession]:
    return [common_pb2.TradingSession(start=timestamp(a), end=timestamp(b)) for a, b in items]


def contract_details(view: ContractView) -> writer_pb2.ContractDetails:
    return writer_pb2.ContractDetails(
        instrument=instrument_to_wire(view.instrument),
        con_id=view.con_id,
        local_symbol=view.local_symbol,
        min_tick=_text(view.min_tick),
        market_rule_id=view.market_rule_id,
        price_increments=[
            common_pb2.PriceIncrement(low_edge=_text(low) or "0", increment=_text(step))
            for low, step in view.increments
        ],
        multiplier=_text(view.multiplier),
        time_zone=view.time_zone,
        trading_sessions=_sessions(view.trading),
        liquid_sessions=_sessions(view.liquid),
        order_types=list(view.order_types),
        as_of=timestamp(view.received_at),
    )


def account_state(view: AccountView) -> writer_pb2.AccountState:
    values = view.values
    msg = writer_pb2.AccountState(
        account_id=view.account_id,
        net_liquidation=_text(values.get("NetLiquidation")),
        gross_position_value=_text(values.get("GrossPositionValue")),
        excess_liquidity=_text(values.get("ExcessLiquidity")),
        maint_margin=_text(values.get("MaintMarginReq")),
        as_of=timestamp(view.received_at),
    )
    for p in view.positions:
        position = msg.positions.add(
            con_id=p.con_id,
            quantity=_text(p.quantity) or "0",
            avg_cost=_text(p.avg_cost) or "0",
            multiplier=_text(p.multiplier),
        )
        if p.instrument is not None:
            position.instrument.CopyFrom(instrument_to_wire(p.instrument))
    for w in view.working:
        msg.working_orders.add(
            broker_order_id=w.broker_order_id,
            con_id=w.con_id,
            action=_SIDES[w.side],
            remaining=_text(w.remaining) or "0",
            order_ref=w.order_ref,
        )
    return msg


def margin(view: MarginView) -> common_pb2.MarginImpact:
    return common_pb2.MarginImpact(
        init_margin_before=_text(view.init_before),
        init_margin_change=_text(view.init_change),
        init_margin_after=_text(view.init_after),
        maint_margin_before=_text(view.maint_before),
        maint_margin_change=_text(view.maint_change),
        maint_margin_after=_text(view.maint_after),
        equity_with_loan_before=_text(view.equity_before),
        equity_with_loan_change=_text(view.equity_change),
        equity_with_loan_after=_text(view.equity_after),
        excess_liquidity_after=_text(view.excess_after),
        commission=_text(view.commission),
        as_of=timestamp(view.received_at),
    )


def fills(items: list[FillView]) -> writer_pb2.ListFillsResponse:
    msg = writer_pb2.ListFillsResponse()
    for f in items:
        fill = msg.fills.add(
            exec_id=f.exec_id,
            broker_order_id=f.broker_order_id,
            order_ref=f.order_ref,
            con_id=f.con_id,
            action=_SIDES[f.side],
            quantity=_text(f.quantity),
            price=_text(f.price),
            time=timestamp(f.time),
            commission=_text(f.commission),
            cum_quantity=_text(f.cum_quantity),
            order_quantity=_text(f.order_quantity),
        )
        if f.instrument is not None:
            fill.instrument.CopyFrom(instrument_to_wire(f.instrument))
    return msg


def order_statuses(items: list[OrderStatusView]) -> writer_pb2.ListOrderStatusesResponse:
    msg = writer_pb2.ListOrderStatusesResponse()
    for v in items:
        msg.orders.add(
            broker_order_id=v.broker_order_id,
            order_ref=v.order_ref,
            status=v.status,
            filled=_text(v.filled),
            remaining=_text(v.remaining),
            changed_at=timestamp(v.changed_at) if v.changed_at is not None else None,
        )
    return msg


def since(stamp: Timestamp) -> datetime:
    """A request's 'since' timestamp as an aware datetime (unset: the epoch)."""
    return stamp.ToDatetime(tzinfo=UTC)
