"""Cancel-all: livegate's own working orders (by orderRef), or the broker-wide global cancel."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from writer_service import errors
from writer_service.ib_session import IbSession
from writer_service.orders import DEAD_STATES, BrokerOrderView, is_livegate_ref
from writer_service.readback import read_back, read_open
from writer_service.truth import BrokerTruth, by_identity

log = logging.getLogger("livegate.writer.cancel_all")


@dataclass(frozen=True)
class CancelAllOutcome:
    """Per order, what the read-back after the cancels shows."""

    cancelled: tuple[BrokerOrderView, ...]
    # Not shown cancelled: still working, filled instead, or not confirmed.
    still_working: tuple[BrokerOrderView, ...]
    # Working orders of the session's accounts left alone: livegate did not place them.
    foreign_left: int
    broker_wide: bool


def targets(
    before: BrokerTruth, accounts: frozenset[str], broker_wide: bool
) -> tuple[list[BrokerOrderView], int]:
    """The working orders the cancel is for, and how many working ones it leaves alone."""
    working = [v for v in before.open if not v.is_done]
    if broker_wide:
        return working, 0
    mine = [v for v in working if v.account_id in accounts]
    # livegate's orders always carry the positive id it placed them under; one placed by
    # hand in TWS may carry none, and is left (and counted) like any other not livegate's.
    ours = [v for v in mine if is_livegate_ref(v.order_ref) and v.broker_order_id > 0]
    return ours, len(mine) - len(ours)


def judge(
    targeted: Iterable[BrokerOrderView], after: BrokerTruth
) -> tuple[tuple[BrokerOrderView, ...], tuple[BrokerOrderView, ...]]:
    """(cancelled, still working): only a dead read-back row, none open or filled, counts as
    cancelled; filled instead, still open, or absent (nothing confirms it) is still working."""
    cancelled: list[BrokerOrderView] = []
    working: list[BrokerOrderView] = []
    for view in targeted:
        rows = [_as_target(r, view) for r in by_identity(after, view.perm_id, view.broker_order_id)]
        open_rows = [r for r in rows if not r.is_done]
        dead = [r for r in rows if r.status in DEAD_STATES]
        if open_rows:
            working.append(open_rows[0])
        elif dead and not any(r.status == "Filled" for r in rows):
            cancelled.append(dead[0])
        else:
            working.append(rows[0] if rows else view)
    return tuple(cancelled), tuple(working)


def _as_target(row: BrokerOrderView, target: BrokerOrderView) -> BrokerOrderView:
    # Completed orders carry no order id (the permId matched): the answer names the order
    # by the id it was cancelled under.
    return replace(
        row,
        broker_order_id=row.broker_order_id or target.broker_order_id,
        account_id=row.account_id or target.account_id,
        order_ref=row.order_ref or target.order_ref,
    )


async def cancel_all_orders(
    session: IbSession,
    accounts: frozenset[str],
    timeout_s: float,
    broker_wide: bool,
    account_hash: Callable[[str], str],
) -> CancelAllOutcome:
    """Read the open orders fresh, cancel the targets (every cancel sent before any wait),
    wait up to TIMEOUT_S for the broker to end them, and read back again."""
    before = await read_open(session, timeout_s)  # only what the selection needs: no delay
    if "open_orders" in before.unanswered:
        # Without the broker's list there is nothing to select from: ib_async's local
        # statuses are no substitute (they mark orders Cancelled that the broker works).
        raise errors.broker_timeout("the open orders before cancel-all", timeout_s)
    targeted, foreign = targets(before, accounts, broker_wide)
    if broker_wide:
        # Only livegate's own orders are awaited: the session hears no status of another
        # client's orders, and the read-back judges every target anyway.
        await session.global_cancel(
            [v.broker_order_id for v in targeted if is_livegate_ref(v.order_ref)], timeout_s
        )
    elif targeted:
        await session.cancel_ids([(v.account_id, v.broker_order_id) for v in targeted], timeout_s)
    after = await read_back(session, timeout_s) if targeted else BrokerTruth()
    cancelled, working = judge(targeted, after)
    log.warning(
        "cancel-all answered",
        extra={
            "broker_wide": broker_wide,
            "cancelled": ",".join(str(v.broker_order_id) for v in cancelled),
            "still_working": ",".join(str(v.broker_order_id) for v in working),
            "foreign_left": foreign,
            "account_id_hashes": ",".join(sorted({account_hash(v.account_id) for v in targeted})),
        },
    )
    return CancelAllOutcome(cancelled, working, foreign, broker_wide)
