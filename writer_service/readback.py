"""Reading the broker's truth back: fresh open orders, completed orders and executions."""

from __future__ import annotations

import logging
import time

from writer_service import errors
from writer_service.ib_convert import fills_from_ib, view_from_row
from writer_service.ib_session import IbSession, QueryOutcome
from writer_service.orders import BrokerOrderView
from writer_service.truth import BrokerTruth, Fill

log = logging.getLogger("livegate.writer.readback")


async def read_back(session: IbSession, budget_s: float) -> BrokerTruth:
    """The three queries, one after another, sharing BUDGET_S; those that do not answer in
    time (or are refused) are named in unanswered instead of being taken as empty."""
    deadline = time.monotonic() + budget_s
    unanswered: list[str] = []

    def left() -> float:
        return max(0.05, deadline - time.monotonic())

    open_rows: tuple[BrokerOrderView, ...] = ()
    completed: tuple[BrokerOrderView, ...] = ()
    fills: tuple[Fill, ...] = ()
    try:
        open_q = await session.open_orders(left(), grace_s=0)
        if open_q.answered:
            open_rows = _open_views(session, open_q)
        else:
            unanswered.append("open_orders")
        done_q = await session.completed_orders(left(), grace_s=0)
        if done_q.answered:
            completed = tuple(
                view_from_row(t.contract, t.order, t.orderStatus.status) for t in done_q.trades
            )
        else:
            unanswered.append("completed_orders")
        try:
            fills = tuple(fills_from_ib(await session.executions(left())))
        except TimeoutError:
            unanswered.append("executions")
    except errors.WriterError as exc:  # the session went away: nothing more is known
        log.warning("read-back interrupted", extra={"reason": exc.reason})
        names = ("open_orders", "completed_orders", "executions")
        unanswered = [n for n in names if n not in unanswered] + unanswered
    if unanswered:
        log.warning("read-back incomplete", extra={"unanswered": ",".join(unanswered)})
    return BrokerTruth(open_rows, completed, fills, tuple(unanswered))


async def read_open(session: IbSession, budget_s: float) -> BrokerTruth:
    """Only the fresh open orders (unanswered names them when they do not answer in time)."""
    try:
        open_q = await session.open_orders(budget_s, grace_s=0)
    except errors.WriterError as exc:
        log.warning("open-orders read interrupted", extra={"reason": exc.reason})
        return BrokerTruth(unanswered=("open_orders",))
    if not open_q.answered:
        return BrokerTruth(unanswered=("open_orders",))
    return BrokerTruth(open=_open_views(session, open_q))


def _open_views(session: IbSession, outcome: QueryOutcome) -> tuple[BrokerOrderView, ...]:
    views = []
    for contract, order, state in outcome.rows:
        # The row's status is the broker's word now; fills come from its orderStatus messages,
        # which ib_async keeps on the trade (it never makes fill figures up itself).
        trade = session.trade_by_id(order.account, order.orderId)
        filled = trade.orderStatus.filled if trade is not None else 0
        avg = trade.orderStatus.avgFillPrice if trade is not None else 0
        views.append(view_from_row(contract, order, state.status, filled, avg))
    return tuple(views)
