"""Unit tests of the risk rules at depth: each bound at, just under and just over it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from policy_service.domain import limits, market_orders, positions, sessions
from policy_service.domain import model as m
from policy_service.domain.checklist import Acknowledgement, judge
from policy_service.domain.efficiency import efficiency_denial
from policy_service.domain.legs import Leg
from policy_service.domain.reference import AccountState, ContractDetails, Position, Session
from policy_service.domain.risk_policy import RiskPolicyError, from_mapping
from policy_service.domain.usage import Exposure, Usage
from tests.policy.harness import LIMITS

UTC = dt.UTC
T0 = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC).timestamp() * 1_000_000)
MIN = 60_000_000
ES = m.Instrument("ES", m.SecType.FUTURE, "CME", expiry="20261218")
AAPL = m.Instrument("AAPL", m.SecType.STOCK)


def policy(**extra: Any) -> Any:
    instruments = extra.pop("instruments", None)
    doc: dict[str, Any] = {"id": "p", "version": 1, "limits": {**LIMITS, **extra}}
    if instruments is not None:
        doc["instruments"] = instruments
    return from_mapping(doc)


def details(
    ins: m.Instrument = AAPL,
    multiplier: str = "1",
    increments: tuple[tuple[str, str], ...] = (("0", "0.01"),),
    trading: tuple[Session, ...] = (Session(T0 - 60 * MIN, T0 + 60 * MIN),),
    liquid: tuple[Session, ...] | None = None,
) -> ContractDetails:
    return ContractDetails(
        instrument=ins,
        con_id=7,
        local_symbol=ins.symbol,
        min_tick=Decimal(increments[0][1]),
        increments=tuple((Decimal(a), Decimal(b)) for a, b in increments),
        multiplier=Decimal(multiplier),
        time_zone="US/Eastern",
        trading=trading,
        liquid=trading if liquid is None else liquid,
        order_types=("LMT",),
        as_of_us=T0,
    )


def leg(
    qty: str = "10",
    price: str | None = "100.00",
    ins: m.Instrument = AAPL,
    action: m.Action = m.Action.BUY,
    d: ContractDetails | None = None,
    **extra: Any,
) -> Leg:
    order = m.OrderSpec(
        ins,
        action,
        Decimal(qty),
        m.OrderType.LIMIT if price else m.OrderType.MARKET,
        Decimal(price) if price else None,
        None,
        m.Tif.DAY,
        extra.pop("outside_rth", False),
    )
    return Leg(order, Decimal("100"), Decimal(0), details=d or details(ins), now_us=T0, **extra)


# ---- the policy file ------------------------------------------------------------------------


def test_symbols_when_list_empty_then_no_symbol_is_allowed() -> None:
    denial = limits.check_instrument(policy(allowed_symbols=[]), leg())
    assert denial is not None and denial.reason == "SYMBOL_NOT_ALLOWED"


def test_derivative_when_not_named_then_refused_and_when_named_then_its_limits() -> None:
    loose = policy(allowed_sec_types=["STOCK", "FUTURE"])
    denial = limits.check_instrument(loose, leg(ins=ES, d=details(ES, "50")))
    assert denial is not None and denial.metadata["sec_type"] == "FUTURE"
    named = policy(
        allowed_sec_types=["STOCK", "FUTURE"],
        instruments=[{"symbol": "ES", "sec_type": "FUTURE", "max_quantity": "2"}],
    )
    assert limits.check_instrument(named, leg(ins=ES, d=details(ES, "50"))) is None
    assert [limits.check_quantity(named, leg(q, ins=ES)) is None for q in ("1", "2", "3")] == [
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(("qty", "passes"), [("3", True), ("4", True), ("5", False)])
def test_notional_when_future_then_multiplier_counts_at_its_bound(qty: str, passes: bool) -> None:
    # 4 x 5000.00 x 50 = 1,000,000: the instrument's bound exactly.
    p = policy(
        allowed_sec_types=["FUTURE"],
        instruments=[{"symbol": "ES", "sec_type": "FUTURE", "max_notional_per_order": "1000000",
                      "max_quantity": "10"}],
    )  # fmt: skip
    denial = limits.check_notional(p, leg(qty, "5000.00", ES, d=details(ES, "50")))
    assert (denial is None) is passes
    if denial is not None:
        assert denial.metadata["multiplier"] == "50"


def test_digest_when_policy_has_no_new_keys_then_unchanged_by_this_version() -> None:
    old = {
        "id": "p", "version": 1, "max_quantity": "500", "max_notional_per_order": "50000",
        "price_collar_bps": "100", "max_reference_age_s": "60", "allowed_sec_types": ["STOCK"],
        "allowed_symbols": ["AAPL"], "max_orders_per_minute": 1000, "max_open_orders": 200,
        "max_daily_notional": "1000000",
    }  # fmt: skip
    assert set(from_mapping(old).canonical()) == set(old)


def test_policy_when_instrument_key_bad_then_error_names_it() -> None:
    with pytest.raises(RiskPolicyError) as caught:
        policy(instruments=[{"symbol": "ES", "sec_type": "FUTURE", "max_net_position": "-1"}])
    assert caught.value.key == "instruments[0].max_net_position"


# ---- ticks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "passes"),
    [("0.9999", True), ("0.99995", False), ("1.00", True), ("1.005", False), ("1.01", True)],
)
def test_tick_when_market_rule_has_bands_then_each_price_on_its_band(
    price: str, passes: bool
) -> None:
    d = details(increments=(("0", "0.0001"), ("1", "0.01")))
    assert (limits.check_tick(policy(), leg(price=price, d=d)) is None) is passes


# ---- sessions and blackouts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "reason"),
    [(T0 - 1, "MARKET_CLOSED"), (T0, None), (T0 + MIN - 1, None), (T0 + MIN, "MARKET_CLOSED")],
)
def test_session_when_at_its_edges_then_start_inclusive_end_exclusive(
    now: int, reason: str | None
) -> None:
    d = details(trading=(Session(T0, T0 + MIN),))
    denial = sessions.session_denial(d, now, False, False)
    assert (denial.reason if denial else None) == reason


@pytest.mark.parametrize(
    ("outside_rth", "allowed", "reason"),
    [(False, True, "OUTSIDE_REGULAR_HOURS"), (True, False, "OUTSIDE_REGULAR_HOURS"),
     (True, True, None)],
)  # fmt: skip
def test_session_when_extended_hours_then_outside_rth_needs_request_and_policy(
    outside_rth: bool, allowed: bool, reason: str | None
) -> None:
    d = details(trading=(Session(T0 - MIN, T0 + MIN),), liquid=(Session(T0 + MIN, T0 + 2 * MIN),))
    denial = sessions.session_denial(d, T0, outside_rth, allowed)
    assert (denial.reason if denial else None) == reason


def _blackout(entry: dict[str, Any]) -> sessions.Blackout:
    [window] = sessions.blackouts_from([{"name": "w", **entry}])
    return window


def _at(hour: int, minute: int, second: int = 0, day: int = 2) -> int:
    local = dt.datetime(2026, 3, day, hour, minute, second, tzinfo=dt.UTC)
    return int(local.timestamp() * 1_000_000)


@pytest.mark.parametrize(
    ("now", "inside"),
    [(_at(23, 44, 59), False), (_at(23, 45), True), (_at(0, 14, 59, 3), True),
     (_at(0, 15, 0, 3), False)],
)  # fmt: skip
def test_blackout_when_daily_window_wraps_midnight_then_edges_hold(now: int, inside: bool) -> None:
    window = _blackout({"daily": {"from": "23:45", "to": "00:15", "time_zone": "UTC"}})
    ends = window.ends_at(now)
    assert (ends is not None) is inside
    if ends is not None:
        assert ends == _at(0, 15, 0, 3)


def test_blackout_when_weekly_and_once_then_inside_only_between() -> None:
    weekly = _blackout({"weekly": {"from": "SAT 00:00", "to": "SUN 06:00", "time_zone": "UTC"}})
    saturday = _at(12, 0, day=7)
    assert weekly.ends_at(saturday) == _at(6, 0, day=8)
    assert weekly.ends_at(_at(12, 0, day=6)) is None
    once = _blackout({"once": {"from": "2026-03-02T15:00:00Z", "to": "2026-03-02T16:00:00Z"}})
    inside = [once.ends_at(t) is not None for t in (T0 - 1, T0, T0 + 60 * MIN - 1, T0 + 60 * MIN)]
    assert inside == [False, True, True, False]
    denial = sessions.blackout_denial((once,), T0)
    assert denial is not None and denial.reason == "BLACKOUT_WINDOW"


def test_blackouts_when_entry_bad_then_error_names_the_key() -> None:
    with pytest.raises(ValueError, match="must be HH:MM") as caught:
        sessions.blackouts_from([{"name": "x", "daily": {"from": "25:00", "to": "01:00"}}])
    assert getattr(caught.value, "key", "") == "blackouts[0].daily.from"


# ---- market orders --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "reference", "tick", "price"),
    [(m.Action.BUY, "100.00", "0.01", "101.00"), (m.Action.SELL, "100.00", "0.01", "99.00"),
     (m.Action.BUY, "5003.10", "0.25", "5053.00"), (m.Action.SELL, "5003.10", "0.25", "4953.25")],
)  # fmt: skip
def test_market_order_when_collared_then_limit_on_tick_inside_the_collar(
    action: m.Action, reference: str, tick: str, price: str
) -> None:
    order = leg(price=None, action=action).order
    d = details(increments=(("0", tick),))
    sent = market_orders.collared(order, Decimal(reference), Decimal(100), d)
    assert sent is not None and sent.order_type is m.OrderType.LIMIT
    assert sent.limit_price == Decimal(price)
    checked = Leg(sent, Decimal(reference), Decimal(0), details=d, now_us=T0)
    assert (
        limits.check_collar(policy(), checked) is None
        and limits.check_tick(policy(), checked) is None
    )


# ---- positions and exposure -----------------------------------------------------------------


def _state(position: str = "0", gross: str = "0") -> AccountState:
    return AccountState((Position(7, Decimal(position)),), (), Decimal(gross), None, T0, T0)


@pytest.mark.parametrize(
    ("qty", "reason"), [("59", None), ("60", None), ("61", "POSITION_LIMIT_EXCEEDED")]
)
def test_position_when_held_plus_working_plus_order_then_net_bound(
    qty: str, reason: str | None
) -> None:
    p = policy(max_net_position="100")
    working = (Exposure("k1", 7, Decimal(20), Decimal(0), Decimal(0)),)
    denial = positions.position_denial(p, [leg(qty)], _state("20"), working)
    assert (denial.reason if denial else None) == reason


def test_position_when_order_only_reduces_then_never_refused() -> None:
    p = policy(max_net_position="100", max_gross_position="100")
    sell = leg("50", action=m.Action.SELL)
    assert positions.position_denial(p, [sell], _state("150"), ()) is None


@pytest.mark.parametrize(
    ("gross", "reason"), [("8999", None), ("9000", None), ("9001", "EXPOSURE_LIMIT_EXCEEDED")]
)
def test_exposure_when_positions_value_plus_orders_then_account_bound(
    gross: str, reason: str | None
) -> None:
    p = policy(max_gross_exposure="10000")  # + 10 x 100.00 for this order
    denial = positions.exposure_denial(p, [leg()], _state(gross=gross), ())
    assert (denial.reason if denial else None) == reason


# ---- margin, efficiency, checklist ----------------------------------------------------------


@pytest.mark.parametrize(
    ("excess", "reason"), [("999.99", "MARGIN_INSUFFICIENT"), ("1000", None), ("1000.01", None)]
)
def test_margin_when_excess_after_order_then_floor(excess: str, reason: str | None) -> None:
    from policy_service.domain.reference import Margin

    margin = Margin(Decimal(500), Decimal(250), Decimal(0), Decimal(excess), T0)
    denial = limits.check_margin(policy(min_excess_liquidity="1000"), leg(margin=margin))
    assert (denial.reason if denial else None) == reason


def test_margin_when_what_if_missing_then_refused_not_skipped() -> None:
    denial = limits.check_margin(
        policy(min_excess_liquidity="1000"), leg(margin_error="WHAT_IF_REFUSED")
    )
    assert denial is not None and denial.reason == "REFERENCE_DATA_UNAVAILABLE"


@pytest.mark.parametrize(
    ("messages", "reason"), [(38, None), (39, None), (40, "ORDER_EFFICIENCY_RATIO_EXCEEDED")]
)
def test_efficiency_when_messages_per_execution_then_ceiling(
    messages: int, reason: str | None
) -> None:
    usage = Usage(0, 0, Decimal(0), messages_today=messages, executed_today=2)
    denial = efficiency_denial(Decimal(20), 20, usage, 1)  # (39 + 1) / 2 = 20: at the ceiling
    assert (denial.reason if denial else None) == reason


def test_efficiency_when_under_minimum_orders_then_not_judged() -> None:
    usage = Usage(0, 0, Decimal(0), messages_today=18, executed_today=0)
    assert efficiency_denial(Decimal(2), 20, usage, 1) is None


DAY = 86_400_000_000


@pytest.mark.parametrize(("age", "reason"), [(DAY - 1, ""), (DAY, "CHECKLIST_EXPIRED")])
def test_checklist_when_at_its_age_then_expired(age: int, reason: str) -> None:
    ack = Acknowledgement("operator", T0, "p", "d" * 64, "1.0", "n")
    assert judge(ack, "d" * 64, "1.0", DAY, T0 + age).reason == reason


def test_checklist_when_policy_or_version_changed_then_outdated() -> None:
    ack = Acknowledgement("operator", T0, "p", "d" * 64, "1.0", "n")
    assert judge(ack, "e" * 64, "1.0", DAY, T0).reason == "CHECKLIST_OUTDATED"
    assert judge(ack, "d" * 64, "1.1", DAY, T0).reason == "CHECKLIST_OUTDATED"
    assert judge(None, "d" * 64, "1.0", DAY, T0).reason == "CHECKLIST_NOT_ACKNOWLEDGED"
