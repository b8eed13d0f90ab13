"""What the policy's audit trail reads of an order's life: executions (with commission and
cumulative filled) and the status of livegate's orders."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from writer_service.errors import WriterError
from writer_service.ib_convert import instrument_from_ib, sec_kind_of, to_decimal
from writer_service.ib_session import IbSession
from writer_service.orders import Side
from writer_service.reference import FillView, OrderStatusView

log = logging.getLogger("livegate.writer.fills")

_SIDES: Final = {"BOT": Side.BUY, "SLD": Side.SELL}


async def list_fills(
    session: IbSession, account: str, since: datetime, refresh: bool, timeout_s: float
) -> list[FillView]:
    """ACCOUNT's executions at or after SINCE, oldest first; with REFRESH, the broker's list
    is asked for first, so an execution the session did not hear live is listed too."""
    if refresh:
        try:
            await session.executions(timeout_s)
        except (TimeoutError, WriterError, ConnectionError) as exc:
            # The session's own fills are still true; the next pass asks again.
            log.warning("executions not refreshed from the broker", extra={"error": str(exc)})
    totals = _order_totals(session)
    out = []
    for fill in session.ib.fills():
        view = _view(fill, totals)
        if view is not None and fill.execution.acctNumber == account and view.time >= since:
            out.append(view)
    return sorted(out, key=lambda f: (f.time, f.exec_id))


def _order_totals(session: IbSession) -> dict[int, Decimal]:
    """Each order's total quantity by permId, for the orders the session holds."""
    totals = {}
    for trade in session.ib.trades():
        total = to_decimal(trade.order.totalQuantity)
        if trade.order.permId and total:
            totals[int(trade.order.permId)] = total
    return totals


def _view(fill: Any, totals: dict[int, Decimal]) -> FillView | None:
    x = fill.execution
    side = _SIDES.get(x.side)
    if side is None:
        return None
    at = _aware(x.time)
    sec = sec_kind_of(fill.contract)
    report = fill.commissionReport
    # ib_async keeps an empty report until the broker's arrives; then it carries the exec id.
    commission = to_decimal(report.commission) if report.execId == x.execId else None
    return FillView(
        exec_id=x.execId,
        broker_order_id=int(x.orderId),
        order_ref=x.orderRef or "",
        con_id=int(fill.contract.conId or 0),
        instrument=instrument_from_ib(fill.contract, sec) if sec else None,
        side=side,
        quantity=to_decimal(x.shares) or Decimal(0),
        price=to_decimal(x.price) or Decimal(0),
        time=at,
        commission=commission,
        cum_quantity=to_decimal(x.cumQty),
        order_quantity=totals.get(int(x.permId)),
    )


async def list_statuses(session: IbSession, account: str, since: datetime) -> list[OrderStatusView]:
    """ACCOUNT's orders that carry an orderRef and whose status changed at or after SINCE,
    with their status now, by broker order id."""
    out = []
    for trade in session.ib.trades():
        order, status = trade.order, trade.orderStatus
        if order.account != account or not order.orderRef or not status.status:
            continue
        changed_at = _aware(trade.log[-1].time) if trade.log else None
        if changed_at is not None and changed_at < since:
            continue
        out.append(
            OrderStatusView(
                broker_order_id=int(order.orderId),
                order_ref=order.orderRef,
                status=status.status,
                filled=to_decimal(status.filled) or Decimal(0),
                remaining=to_decimal(status.remaining) or Decimal(0),
                changed_at=changed_at,
            )
        )
    return sorted(out, key=lambda v: v.broker_order_id)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
