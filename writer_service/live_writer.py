"""LiveOrderWriter: submit, cancel, modify, brackets and cancel-all over ib_async, reconciled."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from ib_async import Order, Trade
from ib_async.order import OrderStatus

from livegate_common.close_first import CloseFirst
from livegate_common.deadlines import CLOSE_HOP_S, write_budget_s
from writer_service import errors, reducing_guard
from writer_service.admission import WriteAdmission
from writer_service.bracket import BracketWriter
from writer_service.cancel_all import CancelAllOutcome, cancel_all_orders
from writer_service.ib_convert import (
    apply_to_ib_order,
    contract_for,
    ib_order_for,
    placement_contract_for,
    spec_from_ib,
    to_decimal,
    view_from_trade,
)
from writer_service.ib_exposure import IbExposureBook
from writer_service.ib_session import IbSession
from writer_service.in_flight import Flight, InFlight
from writer_service.kill_switch import SwitchSnapshot, SwitchState, WriterKillSwitch
from writer_service.orders import (
    BracketSpec,
    BrokerOrderView,
    InstrumentSpec,
    OrderChangeSet,
    OrderSpec,
    QuoteView,
    bracket_refs,
)
from writer_service.readback import read_back
from writer_service.reconciliation import ReconciliationIndex
from writer_service.truth import Found, judge
from writer_service.verdicts import cancel_answer, modify_answer, order_answer
from writer_service.write_slots import WriteSlots

log = logging.getLogger("livegate.writer.orders")
T = TypeVar("T")


class LiveOrderWriter:
    """Every write takes a write slot, and sends only if the kill switch is open at the send."""

    def __init__(
        self,
        session: IbSession,
        accounts: tuple[str, ...],
        kill_switch: WriterKillSwitch,
        index: ReconciliationIndex,
        timeout_s: float,
        *,
        admission: WriteAdmission,
        close_first: CloseFirst | None = None,
    ):
        self._session = session
        # While a close runs here, writes wait before their broker work (see CloseFirst).
        self.close_first = close_first or CloseFirst()
        self._admission = admission
        self._accounts = frozenset(accounts)
        self._kill_switch = kill_switch
        self._index = index
        self._timeout_s = timeout_s
        # Writes of different keys overlap at the broker, one write per key at a time.
        self._slots = WriteSlots()
        self.in_flight = InFlight()
        self._brackets = BracketWriter(session, index, timeout_s)
        self._guard = reducing_guard.ReducingGuard(
            IbExposureBook(session, timeout_s), admission.account_hash
        )
        session.on_reconnected = self._rebuild
        session.before_send = self._admit

    @property
    def broker_timeout_s(self) -> float:
        """broker.request_timeout_s: what each broker wait of a write is bounded by."""
        return self._timeout_s

    # -- kill switch ------------------------------------------------------------------------
    def sync_kill_switch(
        self, state: SwitchState, reason: str, changed_by: str, version: int, resend: bool
    ) -> tuple[SwitchSnapshot, list[Flight]]:
        """Apply the policy's state; a close answers at once with the writes still in flight.

        Invariant 2: every send checks the switch on the loop in the same step as the send
        (_admit), so after one hop onto the loop past the close, no later send can pass; the
        close also waits for ib_async to put every message it held back for pacing on the
        socket. Writes that were sent are listed, those not sent yet are refused when they try.
        """
        if state is SwitchState.OPEN:
            return self._kill_switch.sync(state, reason, changed_by, version, resend), []
        # CLOSED and REDUCING both tighten: writes wait while it lands, and past the hop onto
        # the loop every send is refused (CLOSED) or judged (REDUCING) at _admit.
        with self.close_first.closing():
            snapshot = self._kill_switch.sync(state, reason, changed_by, version, resend)
            if snapshot.state is SwitchState.OPEN:  # a stale resend: ignored
                return snapshot, []
            try:
                return snapshot, self._session.call(self._past_close(), CLOSE_HOP_S)
            except errors.WriterError:
                raise errors.close_unconfirmed(CLOSE_HOP_S) from None

    async def _past_close(self) -> list[Flight]:
        """On the loop, after the switch closed: every send that passed it is on the socket
        (none held back for IB's pacing); the writes sent and not answered yet."""
        if not await self._session.flushed(0.75 * CLOSE_HOP_S):
            raise errors.close_unconfirmed(CLOSE_HOP_S)
        return self.in_flight.sent_writes()

    def _admit(self, order_id: int) -> None:
        """On the loop, right before a place or cancel: refuse when closed, or when REDUCING
        and the reducing guard did not clear this write; else in flight."""
        snapshot = self._kill_switch.snapshot()
        if snapshot.state is SwitchState.CLOSED:
            raise errors.kill_switch_closed(snapshot.reason, snapshot.version)
        if snapshot.state is SwitchState.REDUCING and not reducing_guard.cleared():
            raise errors.kill_switch_reducing_unjudged(
                "the switch turned REDUCING after this write was judged; send it again",
                version=snapshot.version,
            )
        self.in_flight.sent(order_id)

    def _reducing(self) -> bool:
        return self._kill_switch.snapshot().state is SwitchState.REDUCING

    async def _clear(
        self,
        account: str,
        spec: OrderSpec,
        serialized: bool,
        modifying: int | None = None,
        filled: Decimal = Decimal(0),
    ) -> None:
        """Judge an order about to be sent while the switch is REDUCING (OPEN: nothing to
        judge; CLOSED: _admit refuses). Only a write holding the account's reducing slot is
        judged, so that no other write of the account changes what was judged before the send.
        """
        if not self._reducing():
            return
        if not serialized:
            raise errors.kill_switch_reducing_unjudged(
                "the switch turned REDUCING while this write waited; send it again",
                version=self._kill_switch.snapshot().version,
            )
        await self._guard.clear_order(account, spec, modifying=modifying, already_filled=filled)

    def _require_account(self, account: str) -> None:
        if account not in self._accounts:
            raise errors.account_not_managed(self._admission.account_hash(account))

    def _write(
        self,
        account: str,
        slots: tuple[Hashable, ...],
        make: Callable[[bool], Any],
        *,
        judged: bool = False,
    ) -> Any:
        """SLOTS name what the write touches (its key, its order): one write per slot at once.

        A JUDGED write (submit, modify) that starts while the switch is REDUCING also holds the
        account's reducing slot, and MAKE is told so: check-then-send is atomic per account.

        The whole write, its wait for a slot included, ends within write_budget_s: the
        policy's deadline is derived from it (livegate_common.deadlines).
        """
        self._admission.check((account,))  # the role's rule and the last probe, gateway aside
        # The kill switch is checked at the send (_admit), not here: a settle that finds its
        # order at the broker sends nothing and must answer with it even while closed; a
        # refusal here would read as "nothing at the broker" and release the approval.
        serialized = judged and self._reducing()
        if serialized:
            slots = (*slots, ("reducing", account))
        budget = write_budget_s(self._timeout_s)
        ends = time.monotonic() + budget
        self.close_first.checkpoint()  # inside the budget: the policy's deadline counts it
        with self._slots.shared(slots, max(0.05, ends - time.monotonic())):
            self._require_account(account)
            return self._session.call(make(serialized), max(0.05, ends - time.monotonic()))

    # -- writes -----------------------------------------------------------------------------
    def submit(
        self, account: str, spec: OrderSpec, key: str, settle: bool = False
    ) -> tuple[BrokerOrderView, bool]:
        return self._write(  # type: ignore[no-any-return]
            account,
            (("key", key),),
            lambda serialized: self._submit(account, spec, key, settle, serialized),
            judged=True,
        )

    async def _submit(
        self, account: str, spec: OrderSpec, key: str, settle: bool, serialized: bool
    ) -> tuple[BrokerOrderView, bool]:
        if settle or self._known(key):
            # The key may be at the broker already: its truth decides, and nothing is sent
            # unless the broker holds no order with this ref at all.
            truth = await read_back(self._session, self._timeout_s)
            judged = judge(truth, key, account, spec)
            if judged.found is not Found.ABSENT:
                view = order_answer(judged, (), "the order", truth)
                self._index.record(view)
                log.info(
                    "submit reconciled: key already at the broker",
                    extra={"broker_order_id": view.broker_order_id},
                )
                return view, True
        await self._clear(account, spec, serialized)
        order_id = await self._session.next_order_id()
        order = ib_order_for(spec, account, key, order_id)
        with self._session.messages([order_id]) as said:
            trade = await self._session.place(placement_contract_for(spec.instrument), order)
            self._index.record(view_from_trade(trade))
            if await self._session.wait_acked([order_id], said, self._timeout_s):
                view = view_from_trade(trade)
            else:
                truth = await read_back(self._session, self._timeout_s)
                view = order_answer(judge(truth, key, account, spec), said, "the order", truth)
        self._index.record(view)
        log.info("order placed", extra={"broker_order_id": order_id, "status": view.status})
        return view, False

    def submit_bracket(
        self, account: str, bracket: BracketSpec, key: str, settle: bool = False
    ) -> tuple[tuple[BrokerOrderView, BrokerOrderView, BrokerOrderView], bool]:
        # The legs' refs are slots too: a submit whose key is one of them must not overlap.
        slots = (("key", key), *(("key", ref) for ref in bracket_refs(key)))
        return self._write(  # type: ignore[no-any-return]
            account, slots, lambda _serialized: self._submit_bracket(account, bracket, key, settle)
        )

    async def _submit_bracket(
        self, account: str, bracket: BracketSpec, key: str, settle: bool
    ) -> tuple[tuple[BrokerOrderView, BrokerOrderView, BrokerOrderView], bool]:
        if settle or any(self._known(ref) for ref in bracket_refs(key)):
            found = await self._brackets.reconcile(account, bracket, key)
            if found is not None:
                return found
        if self._reducing():
            raise errors.kill_switch_reducing_bracket(self._kill_switch.snapshot().version)
        return await self._brackets.place(account, bracket, key)

    def cancel(self, account: str, broker_order_id: int) -> BrokerOrderView:
        return self._write(
            account,
            (("order", broker_order_id),),
            lambda _serialized: self._cancel(account, broker_order_id),
        )  # type: ignore[no-any-return]

    async def _cancel(self, account: str, broker_order_id: int) -> BrokerOrderView:
        trade = self._trade(account, broker_order_id)
        original = view_from_trade(trade)
        reducing_guard.clear_cancel()  # a cancel passes a REDUCING switch
        with self._session.messages([broker_order_id]) as said:
            # Sent whatever ib_async's own status says: it marks orders Cancelled that the
            # broker keeps working. A cancel of an order already done is answered with a message.
            await self._session.cancel(trade, said, self._timeout_s)
            truth = await read_back(self._session, self._timeout_s)
            view = cancel_answer(truth, original, said)
        self._index.record(view)
        return view

    def modify(
        self, account: str, broker_order_id: int, changes: OrderChangeSet
    ) -> BrokerOrderView:
        return self._write(
            account,
            (("order", broker_order_id),),
            lambda serialized: self._modify(account, broker_order_id, changes, serialized),
            judged=True,
        )  # type: ignore[no-any-return]

    async def _modify(
        self, account: str, broker_order_id: int, changes: OrderChangeSet, serialized: bool
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
        original = view_from_trade(trade)
        await self._clear(account, wanted, serialized, broker_order_id, original.filled)
        with self._session.messages([broker_order_id]) as said:
            await self._session.place(trade.contract, apply_to_ib_order(trade.order, wanted))
            holds = lambda o: _holds(o, wanted.quantity, wanted.limit_price, wanted.stop_price)  # noqa: E731
            if await self._session.wait_modified(broker_order_id, holds, said, self._timeout_s):
                view = self._as_broker_holds(trade)
            else:
                truth = await read_back(self._session, self._timeout_s)
                view = modify_answer(truth, original, account, wanted, said)
        self._index.record(view)
        log.info("order modified", extra={"broker_order_id": broker_order_id})
        return view

    def _as_broker_holds(self, trade: Trade) -> BrokerOrderView:
        """TRADE with the values of the broker's last openOrder for it."""
        raw = self._session.raw_open(trade.order.orderId)
        if raw is None:
            return view_from_trade(trade)
        contract, order, _state = raw
        return view_from_trade(Trade(contract, order, trade.orderStatus, [], []))

    def cancel_all(self, broker_wide: bool = False) -> CancelAllOutcome:
        # Allowed with the switch closed: it only reduces risk, and it is the operator's path.
        # Not past the role, though: it reaches every account of the session.
        self._admission.check_role(self._session.managed_accounts())
        # It waits for no write: the broker takes messages in order, so a write sent before
        # the cancels (before the close that comes first) is in the read-back they start with.
        outcome = self._session.call(
            cancel_all_orders(
                self._session,
                self._accounts,
                self._timeout_s,
                broker_wide,
                self._admission.account_hash,
            ),
            3 * self._timeout_s + 1,  # read-back, the cancels' wait, read-back
        )
        for view in (*outcome.cancelled, *outcome.still_working):
            self._index.record(view)
        return outcome

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
        if order_ref is None:
            assert broker_order_id is not None
            return view_from_trade(self._trade(account, broker_order_id))
        # By ref is how a lost outcome is looked for: the broker's truth, not the session's.
        truth = await read_back(self._session, self._timeout_s)
        rows = [v for v in truth.orders() if v.order_ref == order_ref and v.account_id == account]
        alive = [v for v in rows if v.is_alive]
        if alive or rows:
            return (alive or rows)[0]
        if not truth.complete:
            raise errors.broker_outcome_unknown(
                f"the order with orderRef {order_ref!r}", ",".join(truth.unanswered)
            )
        raise errors.order_not_found(f"with orderRef {order_ref!r}")

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

    def _known(self, ref: str) -> bool:
        """REF is on an order this writer placed or reconciled (in any account)."""
        return self._session.trade_by_ref(ref) is not None or self._index.find_ref(ref) is not None

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
