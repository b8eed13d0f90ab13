"""The writer's REDUCING switch as rules: its versioning, and the reducing guard over fakes."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

import pytest
from ib_async import LimitOrder, OrderStatus, Position, Stock, Trade

from writer_service import reducing_guard
from writer_service.errors import ErrorKind, WriterError
from writer_service.ib_exposure import IbExposureBook
from writer_service.in_flight import InFlight
from writer_service.kill_switch import SwitchState, WriterKillSwitch
from writer_service.live_writer import LiveOrderWriter
from writer_service.orders import InstrumentSpec, OrderKind, OrderSpec, SecKind, Side, TimeInForce
from writer_service.reducing_guard import Exposure, PositionUnknown, ReducingGuard

AAPL = InstrumentSpec("AAPL", SecKind.STOCK)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def order(side: Side, qty: str) -> OrderSpec:
    return OrderSpec(
        AAPL, side, Decimal(qty), OrderKind.LIMIT, Decimal("150"), None, TimeInForce.DAY
    )


@dataclass
class FakeBook:
    """Answers with fixed numbers (or raises PositionUnknown) and records each ask."""

    exposure_: Exposure | None
    asked: list[tuple[str, str, Side, int | None]] = field(default_factory=list)

    async def exposure(
        self, account: str, instrument: InstrumentSpec, side: Side, exclude_order_id: int | None
    ) -> Exposure:
        self.asked.append((account, instrument.symbol, side, exclude_order_id))
        if self.exposure_ is None:
            raise PositionUnknown("no positions answer")
        return self.exposure_


def run_clear(guard: ReducingGuard, spec: OrderSpec, **kw: object) -> bool:
    """Run the guard in a fresh context, as a write's loop task does; True when cleared."""

    async def go() -> bool:
        await guard.clear_order("U1", spec, **kw)  # type: ignore[arg-type]
        return reducing_guard.cleared()

    return contextvars.copy_context().run(asyncio.run, go())


def refusal(guard: ReducingGuard, spec: OrderSpec, **kw: object) -> WriterError:
    with pytest.raises(WriterError) as raised:
        run_clear(guard, spec, **kw)
    return raised.value


# -- the switch's versioning ------------------------------------------------------------------


def test_sync_when_reducing_arrives_while_open_then_applies_whatever_its_version() -> None:
    switch = WriterKillSwitch(10, clock=Clock())
    switch.sync(SwitchState.OPEN, "go", "policy", 5)
    result = switch.sync(SwitchState.REDUCING, "incident", "policy", 3)
    assert (result.state, result.version) == (SwitchState.REDUCING, 3)


def test_sync_when_stale_open_after_reducing_then_stays_reducing() -> None:
    switch = WriterKillSwitch(10, clock=Clock())
    switch.sync(SwitchState.OPEN, "go", "policy", 5)
    switch.sync(SwitchState.REDUCING, "incident", "policy", 6)
    assert switch.sync(SwitchState.OPEN, "late", "policy", 5).state is SwitchState.REDUCING
    assert switch.sync(SwitchState.OPEN, "late", "policy", 6).state is SwitchState.REDUCING
    assert switch.sync(SwitchState.OPEN, "reopened", "policy", 7).state is SwitchState.OPEN


@pytest.mark.parametrize(("version", "loosens"), [(4, False), (5, False), (6, True)])
def test_sync_when_reducing_after_a_close_then_only_a_newer_version_loosens(
    version: int, loosens: bool
) -> None:
    switch = WriterKillSwitch(10, clock=Clock())
    switch.sync(SwitchState.OPEN, "go", "policy", 5)
    switch.sync(SwitchState.CLOSED, "stop", "policy", 5)
    assert switch.sync(SwitchState.REDUCING, "wind down", "policy", version).state is (
        SwitchState.REDUCING if loosens else SwitchState.CLOSED
    )


def test_sync_when_resent_reducing_older_than_current_then_ignored() -> None:
    """A replica's heartbeat of a REDUCING read before the OPEN the writer has is stale."""
    switch = WriterKillSwitch(10, clock=Clock())
    switch.sync(SwitchState.OPEN, "reopened", "policy", 8)
    result = switch.sync(SwitchState.REDUCING, "stored", "policy", 7, resend=True)
    assert result.state is SwitchState.OPEN


def test_sync_when_writer_restarted_then_closed_until_the_policy_resends_reducing() -> None:
    switch = WriterKillSwitch(10, clock=Clock())
    assert switch.state() is SwitchState.CLOSED
    result = switch.sync(SwitchState.REDUCING, "stored", "policy", 4, resend=True)
    assert result.state is SwitchState.REDUCING


def test_sync_when_policy_silent_while_reducing_then_closes() -> None:
    clock = Clock()
    switch = WriterKillSwitch(10, clock=clock)
    switch.sync(SwitchState.REDUCING, "incident", "policy", 2)
    clock.now = 10.5
    assert switch.state() is SwitchState.CLOSED


def test_trip_when_reducing_then_a_resent_reducing_does_not_loosen_it() -> None:
    switch = WriterKillSwitch(10, clock=Clock())
    switch.sync(SwitchState.REDUCING, "incident", "policy", 2)
    switch.trip("probe mismatch")
    assert switch.sync(SwitchState.REDUCING, "stored", "policy", 2, resend=True).state is (
        SwitchState.CLOSED
    )


# -- the guard ----------------------------------------------------------------------------------


def guard_over(position: str, working: str = "0") -> tuple[ReducingGuard, FakeBook]:
    book = FakeBook(Exposure(Decimal(position), Decimal(working)))
    return ReducingGuard(book, lambda a: f"h:{a}"), book


def test_clear_when_sell_reduces_a_long_then_cleared() -> None:
    guard, book = guard_over("100")
    assert run_clear(guard, order(Side.SELL, "40"))
    assert book.asked == [("U1", "AAPL", Side.SELL, None)]


def test_clear_when_buy_against_a_long_then_increases_with_numbers() -> None:
    guard, _book = guard_over("100")
    err = refusal(guard, order(Side.BUY, "10"))
    assert err.reason == "WRITER_KILL_SWITCH_REDUCING_INCREASES"
    assert err.metadata["position"] == "100" and err.metadata["quantity"] == "10"
    assert err.metadata["account_id_hash"] == "h:U1"


def test_clear_when_sell_past_the_position_then_crosses_zero_with_numbers() -> None:
    guard, _book = guard_over("100")
    err = refusal(guard, order(Side.SELL, "101"))
    assert err.reason == "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
    assert (err.metadata["position"], err.metadata["quantity"]) == ("100", "101")


def test_clear_when_working_sells_and_this_one_together_cross_then_refused() -> None:
    guard, _book = guard_over("100", working="60")
    err = refusal(guard, order(Side.SELL, "60"))
    assert err.reason == "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
    assert err.metadata["working_same_side"] == "60"


def test_clear_when_buy_reduces_a_short_then_cleared() -> None:
    guard, _book = guard_over("-50")
    assert run_clear(guard, order(Side.BUY, "50"))


def test_clear_when_flat_then_any_order_increases() -> None:
    guard, _book = guard_over("0")
    assert refusal(guard, order(Side.SELL, "1")).reason == "WRITER_KILL_SWITCH_REDUCING_INCREASES"


def test_clear_when_positions_unknown_then_unjudged() -> None:
    guard = ReducingGuard(FakeBook(None), lambda a: a)
    err = refusal(guard, order(Side.SELL, "1"))
    assert err.reason == "WRITER_KILL_SWITCH_REDUCING_UNJUDGED"
    assert "no positions answer" in err.message


def test_clear_when_modify_then_its_own_order_is_left_out_and_its_fill_deducted() -> None:
    guard, book = guard_over("100", working="0")
    assert run_clear(guard, order(Side.SELL, "130"), modifying=7, already_filled=Decimal(40))
    assert book.asked[0][3] == 7
    err = refusal(guard, order(Side.SELL, "150"), modifying=7, already_filled=Decimal(40))
    assert err.metadata["quantity"] == "110" and err.metadata["broker_order_id"] == "7"


def test_clear_when_refused_then_the_write_is_not_cleared() -> None:
    guard, _book = guard_over("100")

    async def go() -> bool:
        with pytest.raises(WriterError):
            await guard.clear_order("U1", order(Side.BUY, "1"))
        return reducing_guard.cleared()

    assert not contextvars.copy_context().run(asyncio.run, go())


# -- the send -----------------------------------------------------------------------------------


def _sender(state: SwitchState) -> LiveOrderWriter:
    """The writer's send check alone (_admit), over a switch in STATE."""
    switch = WriterKillSwitch(10, clock=Clock())
    if state is not SwitchState.CLOSED:
        switch.sync(state, "test", "policy", 1)
    writer = object.__new__(LiveOrderWriter)
    writer._kill_switch = switch  # type: ignore[attr-defined]
    writer.in_flight = InFlight()
    return writer


def test_send_when_reducing_and_the_write_was_not_cleared_then_refused_unjudged() -> None:
    """A write that began while OPEN (never judged) cannot slip through a switch gone REDUCING."""
    with pytest.raises(WriterError) as raised:
        contextvars.copy_context().run(_sender(SwitchState.REDUCING)._admit, 7)
    assert raised.value.reason == "WRITER_KILL_SWITCH_REDUCING_UNJUDGED"


def test_send_when_reducing_and_the_write_was_cleared_then_sent() -> None:
    def cleared_send() -> None:
        reducing_guard.clear_cancel()
        _sender(SwitchState.REDUCING)._admit(7)

    contextvars.copy_context().run(cleared_send)


def test_send_when_closed_then_refused_even_if_cleared() -> None:
    def cleared_send() -> None:
        reducing_guard.clear_cancel()
        _sender(SwitchState.CLOSED)._admit(7)

    with pytest.raises(WriterError) as raised:
        contextvars.copy_context().run(cleared_send)
    assert raised.value.reason == "WRITER_KILL_SWITCH_CLOSED"


class FakeIb:
    """What IbExposureBook reads of ib_async's IB: positions and this session's client id."""

    def __init__(self, positions: list[Position]):
        self._positions = positions
        self.client = SimpleNamespace(clientId=1)

    async def reqPositionsAsync(self) -> list[Position]:
        return self._positions

    def positions(self, account: str) -> list[Position]:
        return [p for p in self._positions if p.account == account]


class FakeSession:
    """The broker as IbExposureBook sees it: positions, and every working order (working_trades:
    this session's own and, from a fresh all-open-orders answer, every other client's)."""

    def __init__(self, long: int, trades: list[Trade], answered: bool = True):
        self.ib = FakeIb([Position("U1", Stock("AAPL", "NASDAQ", "USD"), long, 150.0)])
        self._trades, self._answered = trades, answered
        self._lock: asyncio.Lock | None = None

    def require_ready(self) -> None:
        pass

    def broker_up(self) -> bool:
        return True

    def positions_lock(self) -> asyncio.Lock:
        self._lock = self._lock or asyncio.Lock()
        return self._lock

    def open_trades(self) -> list[Trade]:
        """ib_async's trades kept from events and answers: the same orders here."""
        return self._trades

    async def working_trades(self, timeout_s: float) -> list[Trade]:
        if not self._answered:
            raise WriterError(ErrorKind.DEADLINE_EXCEEDED, "BROKER_TIMEOUT", "no open orders")
        return self._trades


def working_sell(qty: int, client_id: int, order_id: int, ref: str = "") -> Trade:
    order = LimitOrder("SELL", qty, 190.0, account="U1", orderRef=ref)
    order.clientId, order.orderId = client_id, order_id
    return Trade(Stock("AAPL", "SMART", "USD"), order, OrderStatus(orderId=order_id, remaining=qty))


def exposure_of(session: FakeSession, exclude: int | None = None) -> Exposure:
    book = IbExposureBook(session, 5)  # type: ignore[arg-type]
    return asyncio.run(book.exposure("U1", AAPL, Side.SELL, exclude))


def test_exposure_when_a_sell_placed_by_hand_works_then_it_counts_as_working() -> None:
    """Long 100 with a sell of 60 from another client (TWS by hand, no orderRef): livegate's
    sell of 60 then crosses zero at the guard."""
    session = FakeSession(100, [working_sell(60, client_id=99, order_id=3)])
    held = exposure_of(session)
    assert (held.position, held.working_same_side) == (Decimal(100), Decimal(60))
    guard = ReducingGuard(FakeBook(held), lambda a: a)
    assert refusal(guard, order(Side.SELL, "60")).reason == (
        "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
    )
    assert run_clear(guard, order(Side.SELL, "40"))


def test_exposure_when_modify_then_only_this_sessions_order_of_that_id_is_left_out() -> None:
    """Each client numbers its own orders: the hand-placed order 7 is not livegate's 7."""
    ours = working_sell(40, client_id=1, order_id=7, ref="k-ours")
    session = FakeSession(100, [ours, working_sell(30, client_id=99, order_id=7)])
    assert exposure_of(session, exclude=7).working_same_side == Decimal(30)


def test_exposure_when_the_open_orders_are_not_answered_then_position_unknown() -> None:
    with pytest.raises(PositionUnknown, match="no open orders"):
        exposure_of(FakeSession(100, [], answered=False))
