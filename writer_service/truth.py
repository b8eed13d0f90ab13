"""The broker's truth about an order: a fresh read-back judged against the request, no ib_async."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from decimal import Decimal

from writer_service.orders import BrokerOrderView, OrderSpec, SecKind, Side

# IB has one security type for stocks and ETFs: an ETF placed as STK reads back as STOCK.
_SAME_SEC: dict[SecKind, SecKind] = {SecKind.ETF: SecKind.STOCK}


@dataclass(frozen=True)
class Fill:
    """One order's executions as the broker reported them (the sum so far)."""

    order_ref: str
    account_id: str
    broker_order_id: int
    perm_id: int
    side: Side
    symbol: str
    sec_kind: SecKind
    currency: str
    shares: Decimal
    avg_price: Decimal


@dataclass(frozen=True)
class BrokerTruth:
    """What fresh open-order, completed-order and execution queries answered.

    unanswered names the queries that did not answer in time (or were refused): what they
    would have shown is unknown, so only positive evidence from the others counts.
    """

    open: tuple[BrokerOrderView, ...] = ()
    completed: tuple[BrokerOrderView, ...] = ()
    fills: tuple[Fill, ...] = ()
    unanswered: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.unanswered

    def orders(self) -> tuple[BrokerOrderView, ...]:
        # Open first: the same order can show in both while it changes state.
        return (*self.open, *self.completed)


class Found(enum.Enum):
    ALIVE = "ALIVE"  # working, or filled (in part): the request bought something
    DEAD = "DEAD"  # only cancelled or inactive, nothing filled
    ABSENT = "ABSENT"  # in none of the (all answered) queries
    MISMATCH = "MISMATCH"  # only orders with this ref that differ from the request
    UNKNOWN = "UNKNOWN"  # not alive in what answered, and a query did not answer


@dataclass(frozen=True)
class Judged:
    found: Found
    view: BrokerOrderView | None = None
    others: tuple[BrokerOrderView, ...] = field(default_factory=tuple)


def same_instrument(view_spec: OrderSpec, wanted: OrderSpec) -> bool:
    a, b = view_spec.instrument, wanted.instrument
    return (
        a.symbol == b.symbol
        and _SAME_SEC.get(a.sec_kind, a.sec_kind) == _SAME_SEC.get(b.sec_kind, b.sec_kind)
        and a.currency == b.currency
    )


def same_order(view: BrokerOrderView, account: str, wanted: OrderSpec) -> bool:
    """The broker's order is the one requested: account, side, quantity, instrument, prices."""
    spec = view.order
    if view.account_id != account or spec is None:
        return False
    return (
        same_instrument(spec, wanted)
        and spec.side is wanted.side
        and spec.kind is wanted.kind
        and spec.quantity == wanted.quantity
        and spec.limit_price == wanted.limit_price
        and spec.stop_price == wanted.stop_price
    )


def _fill_matches(fill: Fill, account: str, wanted: OrderSpec) -> bool:
    return (
        fill.account_id == account
        and fill.side is wanted.side
        and fill.symbol == wanted.instrument.symbol
        and _SAME_SEC.get(fill.sec_kind, fill.sec_kind)
        == _SAME_SEC.get(wanted.instrument.sec_kind, wanted.instrument.sec_kind)
        and fill.shares <= wanted.quantity
    )


def judge(
    truth: BrokerTruth, ref: str, account: str, wanted: OrderSpec, oca_group: str | None = None
) -> Judged:
    """Is the order REF for ACCOUNT, as WANTED, at the broker? Matching is by every term, so an
    order of another account, side, size, instrument or price never counts as this one (nor,
    given OCA_GROUP, a bracket child outside its bracket's group)."""
    with_ref = [v for v in truth.orders() if v.order_ref == ref]
    ours = [
        v
        for v in with_ref
        if same_order(v, account, wanted) and (oca_group is None or v.oca_group == oca_group)
    ]
    # An execution names its order, not the order's prices: a fill of an order this ref
    # holds that is not the requested one is that order's, never evidence for the request.
    foreign = {v.perm_id for v in with_ref if v.perm_id and v not in ours}
    fills = [
        f
        for f in truth.fills
        if f.order_ref == ref and f.perm_id not in foreign and _fill_matches(f, account, wanted)
    ]
    alive = [v for v in ours if v.is_alive]
    if alive:
        return Judged(Found.ALIVE, alive[0])
    if fills:
        return Judged(Found.ALIVE, with_fill(ours[0] if ours else None, fills[0], wanted))
    if not truth.complete:
        return Judged(Found.UNKNOWN, ours[0] if ours else None)
    if ours:
        return Judged(Found.DEAD, ours[0])
    if with_ref:
        return Judged(Found.MISMATCH, None, tuple(with_ref))
    return Judged(Found.ABSENT)


def with_fill(view: BrokerOrderView | None, fill: Fill, wanted: OrderSpec) -> BrokerOrderView:
    """The order as its executions show it, when the order queries did not show it alive."""
    if view is not None:
        return replace(view, filled=max(view.filled, fill.shares), status="Filled")
    return BrokerOrderView(
        broker_order_id=fill.broker_order_id,
        perm_id=fill.perm_id,
        account_id=fill.account_id,
        order=wanted,
        status="Filled" if fill.shares >= wanted.quantity else "Submitted",
        filled=fill.shares,
        remaining=wanted.quantity - fill.shares,
        avg_fill_price=fill.avg_price,
        order_ref=fill.order_ref,
    )


def by_identity(truth: BrokerTruth, perm_id: int, order_id: int) -> list[BrokerOrderView]:
    """The rows of one known order: by permId (completed orders carry no order id), else id."""
    if perm_id:
        return [v for v in truth.orders() if v.perm_id == perm_id]
    return [v for v in truth.open if v.broker_order_id == order_id]


class BracketState(enum.Enum):
    PLACED = "PLACED"  # every leg at the broker, as a bracket lives
    REFUSED = "REFUSED"  # no leg alive; nothing works or filled
    ABSENT = "ABSENT"  # no leg anywhere, every query answered
    PARTIAL = "PARTIAL"  # some legs alive, others missing or dead
    MISMATCH = "MISMATCH"  # a leg's ref is held by another order: none of it is ours
    UNKNOWN = "UNKNOWN"


def judge_bracket(legs: tuple[Judged, Judged, Judged]) -> BracketState:
    """The bracket's state from its legs' (parent, take-profit, stop-loss).

    A child is whole when alive, or dead because its OCA sibling filled (the bracket's normal
    end); a bracket with a leg missing or rejected while another works is PARTIAL.
    """
    found = [leg.found for leg in legs]
    if Found.MISMATCH in found:
        # A leg's ref is held by an order that is not the requested one: the bracket at the
        # broker is another request's, whatever its other legs show. Nothing of it is ours to
        # answer for or to cancel (its exits may be protecting a filled entry).
        return BracketState.MISMATCH
    if Found.UNKNOWN in found:
        return BracketState.UNKNOWN
    if Found.ALIVE not in found:
        if all(f is Found.ABSENT for f in found):
            return BracketState.ABSENT
        return BracketState.REFUSED
    parent, take, stop = legs
    if parent.found is Found.ALIVE and _whole(take, stop) and _whole(stop, take):
        return BracketState.PLACED
    return BracketState.PARTIAL


def _whole(child: Judged, sibling: Judged) -> bool:
    if child.found is Found.ALIVE:
        return True
    sibling_filled = sibling.view is not None and sibling.view.filled > 0
    return child.found is Found.DEAD and sibling_filled
