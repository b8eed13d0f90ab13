"""Brackets at the broker: placed broker-native, judged per leg, a partial one made safe."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Final

from writer_service.ib_convert import ib_order_for, placement_contract_for, view_from_trade
from writer_service.ib_session import IbSession
from writer_service.orders import BracketSpec, BrokerMessage, BrokerOrderView, bracket_refs
from writer_service.readback import read_back
from writer_service.reconciliation import ReconciliationIndex
from writer_service.truth import BracketState, BrokerTruth, Found, Judged, judge, judge_bracket
from writer_service.verdicts import bracket_error, with_messages

log = logging.getLogger("livegate.writer.orders")
# Cancel the other child with block when one fills (IB ocaType 1).
OCA_CANCEL_WITH_BLOCK: Final = 1
Legs = tuple[BrokerOrderView, BrokerOrderView, BrokerOrderView]
Legs3 = tuple[Judged, Judged, Judged]


def oca_group_of(key: str) -> str:
    """The OCA group of a bracket's children (IB keeps the name short)."""
    return f"lg-oca-{key}"[:64]


def _child_found(legs: Legs3) -> bool:
    return any(leg.found in (Found.ALIVE, Found.DEAD) for leg in legs[1:])


class BracketWriter:
    """The bracket path of LiveOrderWriter; runs on the IB loop inside a write slot."""

    def __init__(self, session: IbSession, index: ReconciliationIndex, timeout_s: float):
        self._session = session
        self._index = index
        self._timeout_s = timeout_s

    def _legs(self, truth: BrokerTruth, account: str, key: str, bracket: BracketSpec) -> Legs3:
        parent, take, stop = bracket_refs(key)
        group = oca_group_of(key)
        return (
            judge(truth, parent, account, bracket.parent),
            judge(truth, take, account, bracket.take_profit, group),
            judge(truth, stop, account, bracket.stop_loss, group),
        )

    async def reconcile(
        self, account: str, bracket: BracketSpec, key: str
    ) -> tuple[Legs, bool] | None:
        """Before a send: the bracket as the broker holds it (None when no leg is there)."""
        truth = await read_back(self._session, self._timeout_s)
        legs = self._legs(truth, account, key, bracket)
        state = judge_bracket(legs)
        if state is BracketState.ABSENT:
            return None
        if state is BracketState.PARTIAL and not _child_found(legs):
            # Only an order with the key as ref: nothing shows it is this bracket's parent (a
            # submit under the same key looks the same). Never cancel what may not be ours.
            state = BracketState.MISMATCH
        return await self._answer(state, legs, (), truth, account), True

    async def place(self, account: str, bracket: BracketSpec, key: str) -> tuple[Legs, bool]:
        session = self._session
        parent_id = await session.next_order_id(count=3)
        ids = [parent_id, parent_id + 1, parent_id + 2]
        contract = placement_contract_for(bracket.parent.instrument)
        oca = oca_group_of(key)
        orders = []
        # Broker-native bracket: children hang off the parent, and only the last leg transmits,
        # so the broker never holds a parent without its protection.
        specs = (bracket.parent, bracket.take_profit, bracket.stop_loss)
        for offset, (spec, ref) in enumerate(zip(specs, bracket_refs(key), strict=True)):
            order = ib_order_for(spec, account, ref, parent_id + offset)
            order.transmit = offset == 2
            if offset:
                order.parentId = parent_id
                order.ocaGroup = oca
                order.ocaType = OCA_CANCEL_WITH_BLOCK
            orders.append(order)
        with session.messages(ids) as said:
            trades = [await session.place(contract, order) for order in orders]
            for trade in trades:
                self._index.record(view_from_trade(trade))
            if await session.wait_acked(ids, said, self._timeout_s):
                views = tuple(view_from_trade(t) for t in trades)
                log.info("bracket placed", extra={"parent_id": parent_id})
                return (views[0], views[1], views[2]), False
            truth = await read_back(session, self._timeout_s)
            legs = self._legs(truth, account, key, bracket)
            state = judge_bracket(legs)
            if state is BracketState.ABSENT:
                state = BracketState.REFUSED  # sent, and the broker holds none of it
            return await self._answer(state, legs, said, truth, account, sent=ids), False

    async def _answer(
        self,
        state: BracketState,
        legs: Legs3,
        said: Sequence[BrokerMessage],
        truth: BrokerTruth,
        account: str,
        sent: Sequence[int] | None = None,
    ) -> Legs:
        """SENT: the order ids this call placed, the only ones it may cancel (None on a settle,
        where every leg matched this request, ref, terms and OCA group)."""
        if state is BracketState.PLACED:
            views = [
                with_messages(
                    leg.view, [m for m in said if m.broker_order_id == leg.view.broker_order_id]
                )
                for leg in legs
                if leg.view is not None
            ]
            for view in views:
                self._index.record(view)
            return (views[0], views[1], views[2])
        cancelled: list[int] = []
        if state is BracketState.PARTIAL:
            cancelled = await self._cancel_strays(legs, account, sent)
        log.warning(
            "bracket not placed whole",
            extra={"state": state.value, "legs": [leg.found.value for leg in legs]},
        )
        raise bracket_error(state, legs, said, truth, cancelled)

    async def _cancel_strays(
        self, legs: Legs3, account: str, sent: Sequence[int] | None
    ) -> list[int]:
        """Risk-reducing: cancel the working legs of a partial bracket, unless its entry has
        filled; then its exits are what protects the position, and they stay."""
        parent = legs[0].view
        if parent is not None and parent.filled > 0:
            return []
        deadline = time.monotonic() + self._timeout_s
        cancelled = []
        for leg in legs:
            view = leg.view
            if view is None or view.is_done:
                continue
            if sent is not None and view.broker_order_id not in sent:
                continue
            trade = self._session.trade_by_id(account, view.broker_order_id)
            if trade is None:
                continue
            with self._session.messages([view.broker_order_id]) as more:
                left = max(0.05, deadline - time.monotonic())
                await self._session.cancel(trade, more, left, reducing=True)
            if self._session.broker_status(view.broker_order_id) in ("Cancelled", "ApiCancelled"):
                cancelled.append(view.broker_order_id)
        return cancelled
