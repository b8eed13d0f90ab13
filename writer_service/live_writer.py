"""LiveOrderWriter: submit, cancel, modify, brackets and cancel-all over ib_async, reconciled."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from ib_async import Order, Trade
from ib_async.order import OrderStatus

from writer_service import errors
from writer_service.admission import WriteAdmission
from writer_service.ib_convert import (
    apply_to_ib_order,
    contract_for,
    ib_order_for,
    placement_contract_for,
    spec_from_ib,
    to_decimal,
    view_from_trade,
)
from writer_service.ib_session import IbSession
from writer_service.kill_switch import SwitchSnapshot, SwitchState, WriterKillSwitch
from writer_service.orders import (
    BracketSpec,
    BrokerOrderView,
    InstrumentSpec,
    OrderChangeSet,
    QuoteView,
    bracket_refs,
)
from writer_service.reconciliation import ReconciliationIndex
from writer_service.write_slots import WriteSlots

log = logging.getLogger("livegate.writer.orders")
T = TypeVar("T")
# Cancel the other child with block when one fills (IB ocaType 1).
OCA_CANCEL_WITH_BLOCK: Final = 1
MODIFY_SLOT: Final = ("modify",)


class LiveOrderWriter:
    """Every write takes a write slot, checks the kill switch first, then talks to the broker."""

    def __init__(
        self,
        session: IbSession,
        accounts: tuple[str, ...],
        kill_switch: WriterKillSwitch,
        index: ReconciliationIndex,
        timeout_s: float,
        *,
        admission: WriteAdmission,
    ):
        self._session = session
        self._admission = admission
        self._accounts = frozenset(accounts)
        self._kill_switch = kill_switch
        self._index = index
        self._timeout_s = timeout_s
        # Writes of different keys overlap at the broker; a close of the kill switch waits for
        # every write in flight, so nothing reaches the broker after it returns (invariant 2).
        self._slots = WriteSlots()
        session.on_reconnected = self._rebuild

    # -- kill switch ------------------------------------------------------------------------
    def sync_kill_switch(
        self, state: SwitchState, reason: str, changed_by: str, version: int
    ) -> SwitchSnapshot:
        if state is SwitchState.CLOSED:
            with self._slots.exclusive(self._slot_wait_s):
                return self._kill_switch.sync(state, reason, changed_by, version)
        return self._kill_switch.sync(state, reason, changed_by, version)

    def _require_open(self) -> None:
        snapshot = self._kill_switch.snapshot()
        if snapshot.state is not SwitchState.OPEN:
            raise errors.kill_switch_closed(snapshot.reason, snapshot.version)

    def _require_account(self, account: str) -> None:
        if account not in self._accounts:
            raise errors.account_not_managed(self._admission.account_hash(account))

    @property
    def _slot_wait_s(self) -> float:
        return 2 * self._timeout_s + 2

    def _write(self, account: str, slots: tuple[Hashable, ...], make: Callable[[], Any]) -> Any:
        """SLOTS name what the write touches (its key, its order): one write per slot at once."""
        self._admission.check((account,))  # the role's rule and the last probe, gateway aside
        with self._slots.shared(slots, self._slot_wait_s):
            self._require_open()
            self._require_account(account)
            return self._session.call(make(), 3 * self._timeout_s + 1)

    # -- writes -----------------------------------------------------------------------------
    def submit(self, account: str, spec: Any, key: str) -> tuple[BrokerOrderView, bool]:
        return self._write(account, (("key", key),), lambda: self._submit(account, spec, key))  # type: ignore[no-any-return]

    async def _submit(self, account: str, spec: Any, key: str) -> tuple[BrokerOrderView, bool]:
        found = self._find_ref(key)
        if found is not None:
            log.info(
                "submit reconciled: key already at the broker",
                extra={"broker_order_id": found.broker_order_id},
            )
            return found, True
        order_id = await self._session.next_order_id()
        order = ib_order_for(spec, account, key, order_id)
        trade = await self._session.place(placement_contract_for(spec.instrument), order)
        self._index.record(view_from_trade(trade))
        await self._session.wait_acked([trade], self._timeout_s)
        view = view_from_trade(trade)
        self._index.record(view)
        log.info("order placed", extra={"broker_order_id": order_id, "status": view.status})
        return view, False

    def submit_bracket(
        self, account: str, bracket: BracketSpec, key: str
    ) -> tuple[tuple[BrokerOrderView, BrokerOrderView, BrokerOrderView], bool]:
        # The legs' refs are slots too: a submit whose key is one of them must not overlap.
        slots = (("key", key), *(("key", ref) for ref in bracket_refs(key)))
        return self._write(account, slots, lambda: self._submit_bracket(account, bracket, key))  # type: ignore[no-any-return]

    async def _submit_bracket(
        self, account: str, bracket: BracketSpec, key: str
    ) -> tuple[tuple[BrokerOrderView, BrokerOrderView, BrokerOrderView], bool]:
        refs = bracket_refs(key)
        found = [self._find_ref(ref) for ref in refs]
        if any(f is not None for f in found):
            if not all(found):
                raise errors.WriterError(
                    errors.ErrorKind.FAILED_PRECONDITION,
                    "BRACKET_INCOMPLETE_AT_BROKER",
                    "part of this bracket is at the broker; settle it by hand",
                    {"found_legs": sum(1 for f in found if f)},
                )
            return (found[0], found[1], found[2]), True  # type: ignore[return-value]
        parent_id = await self._session.next_order_id(count=3)
        contract = placement_contract_for(bracket.parent.instrument)
        oca = f"lg-oca-{key}"[:64]
        orders = []
        # Broker-native bracket: children hang off the parent, and only the last leg transmits,
        # so the broker never holds a parent without its protection.
        for offset, (spec, ref) in enumerate(
            zip((bracket.parent, bracket.take_profit, bracket.stop_loss), refs, strict=True)
        ):
            order = ib_order_for(spec, account, ref, parent_id + offset)
            order.transmit = offset == 2
            if offset:
                order.parentId = parent_id
                order.ocaGroup = oca
                order.ocaType = OCA_CANCEL_WITH_BLOCK
            orders.append(order)
        trades = [await self._session.place(contract, order) for order in orders]
        for trade in trades:
            self._index.record(view_from_trade(trade))
        await self._session.wait_acked(trades, self._timeout_s)
        views = tuple(view_from_trade(t) for t in trades)
        for view in views:
            self._index.record(view)
        log.info("bracket placed", extra={"parent_id": parent_id})
        return (views[0], views[1], views[2]), False

    def cancel(self, account: str, broker_order_id: int) -> BrokerOrderView:
        return self._write(
            account, (("order", broker_order_id),), lambda: self._cancel(account, broker_order_id)
        )  # type: ignore[no-any-return]

    async def _cancel(self, account: str, broker_order_id: int) -> BrokerOrderView:
        trade = self._trade(account, broker_order_id)
        if trade.orderStatus.status not in OrderStatus.DoneStates:
            await self._session.cancel(trade, self._timeout_s)
        view = view_from_trade(trade)
        self._index.record(view)
        return view

    def modify(
        self, account: str, broker_order_id: int, changes: OrderChangeSet
    ) -> BrokerOrderView:
        return self._write(
            account,
            # One modify at a time: its read-back is an open-orders query, and ib_async keeps
            # one such query in flight (a second would orphan the first).
            (("order", broker_order_id), MODIFY_SLOT),
            lambda: self._modify(account, broker_order_id, changes),
        )  # type: ignore[no-any-return]

    async def _modify(
        self, account: str, broker_order_id: int, changes: OrderChangeSet
    ) -> BrokerOrderView:
        trade = self._trade(account, broker_order_id)
        if trade.orderStatus.status in OrderStatus.DoneStates:
            raise errors.WriterError(
                errors.ErrorKind.FAILED_PRECONDITION,
                "ORDER_NOT_MODIFIABLE",
                f"the order is {trade.orderStatus.status}",
                {"broker_order_id": broker_order_id},
            )
        current = spec_from_ib(trade.contract, trade.order)
        if current is None:
            raise errors.WriterError(
                errors.ErrorKind.FAILED_PRECONDITION,
                "ORDER_NOT_MODIFIABLE",
                "the order is of a kind livegate does not modify",
                {"broker_order_id": broker_order_id},
            )
        if changes.limit_price is not None and not current.kind.needs_limit:
            raise errors.invalid("FIELD_NOT_ALLOWED", "changes.limit_price", "order has no limit")
        if changes.stop_price is not None and not current.kind.needs_stop:
            raise errors.invalid("FIELD_NOT_ALLOWED", "changes.stop_price", "order has no stop")
        wanted = changes.apply(current)
        await self._session.place(trade.contract, apply_to_ib_order(trade.order, wanted))
        await self._session.wait_modified(
            broker_order_id,
            lambda o: _holds(o, wanted.quantity, wanted.limit_price, wanted.stop_price),
            self._timeout_s,
        )
        view = await self._read_back(trade)
        self._index.record(view)
        log.info("order modified", extra={"broker_order_id": broker_order_id})
        return view

    async def _read_back(self, trade: Trade) -> BrokerOrderView:
        """What the broker now holds for TRADE, from a fresh open-orders query."""
        await self._session.open_orders(self._timeout_s)
        raw = self._session.raw_open(trade.order.orderId)
        if raw is None:
            return view_from_trade(trade)
        contract, order, _state = raw
        return view_from_trade(Trade(contract, order, trade.orderStatus, [], []))

    def cancel_all(self) -> int:
        # Allowed with the switch closed: it only reduces risk, and it is the operator's path.
        # Not past the role, though: it reaches every account of the session.
        self._admission.check_role(self._session.managed_accounts())
        with self._slots.exclusive(self._slot_wait_s):
            return self._session.call(
                self._session.global_cancel(self._timeout_s), self._timeout_s + 1
            )

    # -- reads ------------------------------------------------------------------------------
    def get_order(
        self, account: str, broker_order_id: int | None, order_ref: str | None
    ) -> BrokerOrderView:
        self._require_account(account)
        # A lookup is how the policy settles a lost outcome: before reconciliation ends after
        # a reconnect, "not found" (or a stale local view) would be a wrong answer, not a slow one.
        self._session.require_ready()
        return self._session.call(self._get_order(account, broker_order_id, order_ref))

    def open_order_ids(self, account: str) -> list[int]:
        """Broker ids of ACCOUNT's orders still working, as the reconciled session knows them."""
        self._require_account(account)
        # An order missing from this answer stops counting towards the policy's open-orders
        # limit: before reconciliation ends, missing could mean "not loaded yet", not "gone".
        self._session.require_ready()
        return self._session.call(self._open_order_ids(account))

    async def _open_order_ids(self, account: str) -> list[int]:
        # On the loop: the session's trades change there, with every order event.
        trades = self._session.open_trades()
        return sorted({t.order.orderId for t in trades if t.order.account == account})

    async def _get_order(
        self, account: str, broker_order_id: int | None, order_ref: str | None
    ) -> BrokerOrderView:
        if order_ref is not None:
            found = self._find_ref(order_ref)
            if found is None or found.account_id != account:
                raise errors.order_not_found(f"with orderRef {order_ref!r}")
            return found
        assert broker_order_id is not None
        return view_from_trade(self._trade(account, broker_order_id))

    def quote(self, instrument: InstrumentSpec) -> tuple[QuoteView, datetime]:
        ticker = self._session.call(
            self._session.snapshot(contract_for(instrument), self._timeout_s), self._timeout_s + 1
        )
        received_at = datetime.now(UTC)
        quote = QuoteView(to_decimal(ticker.bid), to_decimal(ticker.ask), to_decimal(ticker.last))
        return quote, received_at

    # -- reconciliation ---------------------------------------------------------------------
    def reconcile(self) -> list[BrokerOrderView]:
        return self._session.call(self._rebuild(), 3 * self._timeout_s + 1)

    async def _rebuild(self) -> list[BrokerOrderView]:
        open_q = await self._session.open_orders(self._timeout_s)
        done_q = await self._session.completed_orders(self._timeout_s)
        views = [view_from_trade(t) for t in [*open_q.trades, *done_q.trades]]
        try:
            fills = await self._session.executions(self._timeout_s)
        except Exception as exc:  # executions only add evidence; the orders already decide
            log.warning("executions query failed", extra={"error": repr(exc)})
            fills = []
        known = {v.order_ref for v in views if v.order_ref}
        for fill in fills:
            ref = fill.execution.orderRef or ""
            if ref and ref not in known:
                views.append(_view_from_fill(fill))
                known.add(ref)
        return self._index.rebuild(views)

    def unexplained(self) -> list[BrokerOrderView]:
        return self._index.unexplained()

    def _find_ref(self, ref: str) -> BrokerOrderView | None:
        trade = self._session.trade_by_ref(ref)
        if trade is not None:
            return view_from_trade(trade)
        return self._index.find_ref(ref)

    def _trade(self, account: str, broker_order_id: int) -> Trade:
        trade = self._session.trade_by_id(account, broker_order_id)
        if trade is None:
            raise errors.order_not_found(f"{broker_order_id} in account {account}")
        return trade


def _holds(order: Order, qty: Decimal, limit: Decimal | None, stop: Decimal | None) -> bool:
    return (
        to_decimal(order.totalQuantity) == qty
        and (limit is None or to_decimal(order.lmtPrice) == limit)
        and (stop is None or to_decimal(order.auxPrice) == stop)
    )


def _view_from_fill(fill: Any) -> BrokerOrderView:
    execution = fill.execution
    return BrokerOrderView(
        broker_order_id=int(execution.orderId),
        perm_id=int(execution.permId),
        account_id=execution.acctNumber,
        order=None,
        status="Filled",
        filled=to_decimal(execution.cumQty) or Decimal(0),
        remaining=Decimal(0),
        avg_fill_price=to_decimal(execution.avgPrice) or Decimal(0),
        order_ref=execution.orderRef or "",
    )
