"""Step 6 in a REDUCING scope, with fakes: which writes the position lets through, and every
way the position can be missing (each a refusal, never a pass)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from policy_service.domain import model as m
from policy_service.domain.commands import BracketCmd, CancelCmd, ModifyCmd, SubmitCmd
from policy_service.domain.legs import Leg
from policy_service.domain.ports import WriterError
from policy_service.domain.reducing import Held, Reducing
from policy_service.domain.reference import (
    AccountState,
    ContractDetails,
    Position,
    WorkingOrder,
)
from policy_service.domain.scopes import ScopedStop, ScopeKind
from policy_service.domain.usage import Exposure

NOW = 1_000_000_000
AAPL = 265598
MSFT = 272093
STOP = ScopedStop(
    ScopeKind.ACCOUNT, "hash-a", m.SwitchState.REDUCING, "INC-7", "operator", 1, "r", 2
)
SUBMIT = SubmitCmd("U1234567", "pv_1", "ap_1", "k1")


@dataclass
class FakeClock:
    now: int = NOW

    def now_us(self) -> int:
        return self.now


@dataclass
class FakeWriter:
    """Answers account_state from STATE (or raises ERROR); records every account asked."""

    state: AccountState | None = None
    error: WriterError | None = None
    asked: list[str] = field(default_factory=list)

    def account_state(self, account_id: str) -> AccountState:
        self.asked.append(account_id)
        if self.error is not None:
            raise self.error
        assert self.state is not None
        return self.state


def _state(
    position: str = "100", working: tuple[WorkingOrder, ...] = (), age_us: int = 0
) -> AccountState:
    return AccountState(
        positions=(Position(AAPL, Decimal(position)), Position(MSFT, Decimal(-50))),
        working=working,
        gross_position_value=None,
        excess_liquidity=None,
        as_of_us=NOW - age_us,
    )


def _leg(action: str, qty: str, con_id: int | None = AAPL) -> Leg:
    order = m.OrderSpec(
        m.Instrument("AAPL", m.SecType.STOCK), m.Action(action), Decimal(qty),
        m.OrderType.LIMIT, Decimal("189.00"), None, m.Tif.DAY,
    )  # fmt: skip
    details = None
    if con_id is not None:
        details = ContractDetails(
            order.instrument, con_id, "AAPL", Decimal("0.01"), (), Decimal(1), "US/Eastern",
            (), (), ("LMT",), NOW,
        )  # fmt: skip
    return Leg(order, Decimal("189.25"), Decimal(0), details=details, details_error="no answer")


@dataclass
class FakeStore:
    """The contract id each idempotency key recorded."""

    con_ids: dict[str, int] = field(default_factory=dict)
    asked: list[list[str]] = field(default_factory=list)

    def key_con_ids(self, keys: list[str]) -> dict[str, int]:
        self.asked.append(list(keys))
        return {k: v for k, v in self.con_ids.items() if k in keys}


def _sell_working(order_id: int, qty: str, ref: str = "k0", con_id: int = AAPL) -> WorkingOrder:
    return WorkingOrder(order_id, con_id, m.Action.SELL, Decimal(qty), ref)


def _rule(writer: FakeWriter, max_age_s: float = 5, store: FakeStore | None = None) -> Reducing:
    return Reducing(
        store or FakeStore(),  # type: ignore[arg-type]
        writer,  # type: ignore[arg-type]
        FakeClock(),
        int(max_age_s * 1_000_000),
    )


@pytest.mark.parametrize(
    ("position", "action", "qty", "reason"),
    [
        ("100", "SELL", "40", None),
        ("100", "SELL", "100", None),
        ("100", "BUY", "1", "SCOPE_REDUCING_INCREASES"),
        ("100", "SELL", "101", "SCOPE_REDUCING_CROSSES_ZERO"),
        ("-30", "BUY", "30", None),
        ("-30", "SELL", "1", "SCOPE_REDUCING_INCREASES"),
        ("0", "SELL", "1", "SCOPE_REDUCING_INCREASES"),
    ],
)
def test_submit_when_scope_reducing_then_only_orders_towards_zero_pass(
    position: str, action: str, qty: str, reason: str | None
) -> None:
    writer = FakeWriter(_state(position))

    denial = _rule(writer).denial(SUBMIT, [_leg(action, qty)], [STOP])

    assert (denial.reason if denial else None) == reason
    assert writer.asked == ["U1234567"]
    if denial is not None:
        assert (denial.step, denial.code) == (6, "FAILED_PRECONDITION")
        assert denial.metadata["position"] == position and denial.metadata["quantity"] == qty
        assert f"position={position}, quantity={qty}, working=0" in denial.message


def test_submit_when_livegate_sells_are_working_then_they_count_and_others_do_not() -> None:
    working = (
        _sell_working(11, "60"),  # livegate's: counts
        _sell_working(13, "500", con_id=MSFT),  # another instrument
        WorkingOrder(14, AAPL, m.Action.BUY, Decimal(500), "k2"),  # the other side
    )
    rule = _rule(FakeWriter(_state("100", working)))

    fits = rule.denial(SUBMIT, [_leg("SELL", "40")], [STOP])
    over = rule.denial(SUBMIT, [_leg("SELL", "41")], [STOP])

    assert fits is None
    assert over is not None and over.reason == "SCOPE_REDUCING_CROSSES_ZERO"
    assert (over.metadata["working"], over.metadata["quantity"]) == ("60", "41")


def test_submit_when_a_hand_placed_sell_works_then_it_counts_as_filled() -> None:
    """Long 100, a sell of 60 placed by hand in TWS (no orderRef of livegate's): a sell of 60
    through livegate would flip the position if both fill."""
    rule = _rule(FakeWriter(_state("100", (_sell_working(7, "60", ref=""),))))

    crossed = rule.denial(SUBMIT, [_leg("SELL", "60")], [STOP])
    fits = rule.denial(SUBMIT, [_leg("SELL", "40")], [STOP])

    assert crossed is not None and crossed.reason == "SCOPE_REDUCING_CROSSES_ZERO"
    assert (crossed.metadata["working"], crossed.metadata["quantity"]) == ("60", "60")
    assert fits is None


def test_submit_when_a_hand_placed_sell_has_no_contract_id_then_it_counts_on_the_instrument() -> (
    None
):
    """No contract id and no key to place it by: counted (the stricter guess)."""
    store = FakeStore()
    rule = _rule(FakeWriter(_state("100", (_sell_working(7, "60", ref="", con_id=0),))), 5, store)

    crossed = rule.denial(SUBMIT, [_leg("SELL", "41")], [STOP])

    assert crossed is not None and crossed.metadata["working"] == "60"
    assert store.asked == [[]]  # an order without orderRef is not looked up by key


def test_modify_when_a_hand_placed_order_has_the_modified_orders_id_then_it_still_counts() -> None:
    """Each client numbers its own orders: another client's order 11 is not livegate's 11."""
    working = (_sell_working(11, "60"), _sell_working(11, "30", ref=""))
    rule = _rule(FakeWriter(_state("100", working)))
    modify = ModifyCmd("U1234567", 11, "ap_1", "pv_1", "k9", m.Changes(quantity=Decimal(71)))

    too_big = rule.denial(modify, [_leg("SELL", "71")], [STOP])

    assert too_big is not None and too_big.metadata["working"] == "30"


def test_modify_when_scope_reducing_then_its_own_order_is_left_out_of_working() -> None:
    working = (_sell_working(11, "60"), _sell_working(12, "30"))
    rule = _rule(FakeWriter(_state("100", working)))
    modify = ModifyCmd("U1234567", 11, "ap_1", "pv_1", "k9", m.Changes(quantity=Decimal(70)))

    grown = rule.denial(modify, [_leg("SELL", "70")], [STOP])
    too_big = rule.denial(modify, [_leg("SELL", "71")], [STOP])

    assert grown is None  # 70 + 30 = 100: the old 60 is replaced, not added
    assert too_big is not None and too_big.metadata["working"] == "30"


def test_submit_when_the_broker_reports_livegates_orders_without_contract_then_placed_by_key() -> (
    None
):
    working = (
        _sell_working(11, "30", ref="k-aapl", con_id=0),  # livegate's AAPL sell
        _sell_working(12, "500", ref="k-msft", con_id=0),  # livegate's MSFT sell
        _sell_working(13, "5", ref="k-lost", con_id=0),  # no record: counted (stricter)
    )
    store = FakeStore({"k-aapl": AAPL, "k-msft": MSFT})
    rule = _rule(FakeWriter(_state("100", working)), store=store)

    fits = rule.denial(SUBMIT, [_leg("SELL", "65")], [STOP])
    over = rule.denial(SUBMIT, [_leg("SELL", "66")], [STOP])

    assert fits is None
    assert over is not None and over.metadata["working"] == "35"
    assert sorted(store.asked[0]) == ["k-aapl", "k-lost", "k-msft"]


@pytest.mark.parametrize(
    ("writer", "max_age_s", "why"),
    [
        (FakeWriter(_state("100", age_us=6_000_000)), 5, "older than allowed"),
        (FakeWriter(error=WriterError("UNAVAILABLE", "UNAVAILABLE", "", "down")), 5, "unreadable"),
    ],
)
def test_submit_when_position_stale_or_unreadable_then_refused(
    writer: FakeWriter, max_age_s: float, why: str
) -> None:
    denial = _rule(writer, max_age_s).denial(SUBMIT, [_leg("SELL", "1")], [STOP])

    assert denial is not None and denial.reason == "SCOPE_REDUCING_POSITION_STALE"
    assert why in denial.metadata["why"] and denial.step == 6


def test_submit_when_position_age_is_within_bound_then_judged() -> None:
    writer = FakeWriter(_state("100", age_us=4_900_000))

    assert _rule(writer).denial(SUBMIT, [_leg("SELL", "1")], [STOP]) is None


def test_submit_when_contract_id_unknown_then_refused_without_asking_the_writer() -> None:
    writer = FakeWriter(_state("100"))

    denial = _rule(writer).denial(SUBMIT, [_leg("SELL", "1", con_id=None)], [STOP])

    assert denial is not None and denial.reason == "SCOPE_REDUCING_POSITION_STALE"
    assert writer.asked == []


def test_cancel_and_bracket_when_scope_reducing_then_cancel_passes_and_bracket_refused() -> None:
    writer = FakeWriter(_state("100"))
    rule = _rule(writer)
    bracket = BracketCmd("U1234567", ("a", "b", "c"), ("x", "y", "z"), "k3")

    cancelled = rule.denial(CancelCmd("U1234567", 11, "k4"), [], [STOP])
    bracketed = rule.denial(bracket, [_leg("BUY", "1")], [STOP])

    assert cancelled is None
    assert bracketed is not None and bracketed.reason == "SCOPE_REDUCING_BRACKET"
    assert writer.asked == []  # neither needs the position


def test_submit_when_no_scope_reducing_then_the_writer_is_not_asked() -> None:
    writer = FakeWriter(_state("0"))

    assert _rule(writer).denial(SUBMIT, [_leg("BUY", "1")], []) is None
    assert writer.asked == []


def _held(
    position: str = "10", broker_working: str = "0", exclude: str = "", at_broker: str = ""
) -> Held:
    return Held(STOP, AAPL, "SELL", Decimal(6), Decimal(position), Decimal(broker_working),
                frozenset({exclude} - {""}), NOW, frozenset({at_broker} - {""}))  # fmt: skip


def _row(key: str, sell: str, con_id: int = AAPL, buy: str = "0") -> Exposure:
    return Exposure(key, con_id, Decimal(buy), Decimal(sell), Decimal(0))


def test_submit_when_another_sell_is_pending_in_the_store_then_step_10_refuses_the_cross() -> None:
    """Two sells judged at once each saw nothing working at the broker; under the account's
    lock the second sees the first's pending row."""
    pending = [_row("k-first", "6"), _row("k-msft", "50", con_id=MSFT), _row("k-buy", "0", buy="9")]

    crossed = _held().denial(pending)
    alone = _held().denial([_row("k-msft", "50", con_id=MSFT)])

    assert crossed is not None and crossed.reason == "SCOPE_REDUCING_CROSSES_ZERO"
    assert (crossed.metadata["working"], crossed.step) == ("6", 6)
    assert alone is None


def test_modify_when_step_10_repeats_then_the_modified_orders_row_is_left_out() -> None:
    rows = [_row("k-modified", "4"), _row("k-other", "4")]

    assert _held(exclude="k-modified").denial(rows) is None  # 6 + 4 = 10
    assert _held().denial(rows) is not None  # 6 + 8 > 10


def test_submit_when_the_broker_reports_a_stored_order_then_step_10_counts_it_once() -> None:
    """k-a works at the broker: the broker's figure for it, not that and its row too."""
    denial = _held(broker_working="5", at_broker="k-a").denial([_row("k-a", "5")])

    assert denial is not None and denial.metadata["working"] == "5"


def test_submit_when_a_hand_placed_sell_works_then_step_10_adds_livegates_pending_rows() -> None:
    """Long 20, 9 sold by hand at the broker, livegate's first sell of 6 pending (not at the
    broker yet): this sell of 6 makes 21. The larger of broker (9) and store (6) would pass."""
    crossed = _held(position="20", broker_working="9").denial([_row("k-first", "6")])
    alone = _held(position="20", broker_working="9").denial([])

    assert crossed is not None and crossed.reason == "SCOPE_REDUCING_CROSSES_ZERO"
    assert crossed.metadata["working"] == "15"
    assert alone is None
