"""Per-instrument limits, broker ticks, collared market orders and reference data, end to end."""

from __future__ import annotations

from decimal import Decimal

from livegate_api.v1 import common_pb2
from tests.policy.harness import FakeClock
from tests.risk.conftest import MakeStack
from tests.risk.flows import (
    SELL,
    approve,
    check,
    future,
    limit,
    market,
    preview,
    stock,
    submit,
    submit_approved,
)
from tests.risk.test_positions import use

FUTURES = {"allowed_sec_types": ["STOCK", "ETF", "FUTURE"]}
ES = {"symbol": "ES", "sec_type": "FUTURE", "max_quantity": "5", "max_notional_per_order": "500000"}


def test_submit_when_future_named_then_multiplier_counts_and_tick_is_the_brokers(
    make_stack: MakeStack, db_url: str
) -> None:
    stack = make_stack(db_url=db_url, limits=FUTURES, instruments=[ES])
    local = stack.sim.add_future("ES", "20261218", "50", min_tick=Decimal("0.25"),
                                 market_rule_id=67)  # fmt: skip
    stack.sim.set_market_rule(67, [("0", "0.25")])
    stack.sim.set_quote(local, Decimal("5000.00"), Decimal("5000.50"), Decimal("5000.25"))
    stack.sim.add_future("NQ", "20261218", "20")

    under = submit(stack, limit("1", "5000.00", future()))  # 250,000
    at = submit(stack, limit("2", "5000.00", future()))  # 2 x 5000 x 50 = 500,000: the bound
    over = submit(stack, limit("2", "5000.25", future()))  # 500,025
    assert under.order is not None and at.order is not None
    assert (over.reason, over.step) == ("NOTIONAL_EXCEEDS_MAX_PER_ORDER", "9")
    assert over.meta is not None and (over.meta["notional"], over.meta["multiplier"]) == (
        "500025.00",
        "50",
    )
    [placed] = [o for o in stack.sim.orders() if o.order_id == at.order.broker_order_id]
    assert (placed.local_symbol, placed.expiry, placed.multiplier) == (local, "20261218", "50")
    assert at.preview is not None and at.preview.instrument_details.multiplier == "50"

    off_tick = submit(stack, limit("1", "5000.10", future()))
    assert off_tick.reason == "PRICE_NOT_ON_TICK" and off_tick.meta is not None
    assert off_tick.meta["tick"] == "0.25"
    unnamed = submit(stack, limit("1", "18000.00", future("NQ")))
    assert (unnamed.reason, unnamed.step) == ("SYMBOL_NOT_ALLOWED", "9")
    assert len([o for o in stack.sim.orders() if o.symbol in ("ES", "NQ")]) == 2


def test_submit_when_broker_tick_is_a_nickel_then_cent_prices_refused(
    make_stack: MakeStack, db_url: str
) -> None:
    """The tick comes from the broker's market rule: a fixed cent would pass 189.01."""
    stack = make_stack(db_url=db_url)
    stack.sim.set_market_rule(900, [("0", "0.05")])
    stack.sim.set_stock_details("AAPL", market_rule_id=900, min_tick=Decimal("0.05"))
    on_tick = submit(stack, limit("1", "189.05"))
    off_tick = submit(stack, limit("1", "189.01"))
    assert on_tick.order is not None
    assert off_tick.reason == "PRICE_NOT_ON_TICK" and off_tick.meta is not None
    assert (off_tick.meta["tick"], off_tick.meta["price"]) == ("0.05", "189.01")


def test_submit_when_market_order_allowed_then_broker_gets_a_collared_limit(
    make_stack: MakeStack, db_url: str
) -> None:
    aapl = {"symbol": "AAPL", "sec_type": "STOCK", "price_collar_bps": "100",
            "allowed_order_types": ["LIMIT", "MARKET"]}  # fmt: skip
    stack = make_stack(db_url=db_url, instruments=[aapl])
    buy = submit(stack, market("2"))
    sell = submit(stack, market("1", action=SELL))
    assert buy.order is not None and sell.order is not None and buy.preview is not None
    # Reference 189.25 (mid of 189.20 / 189.30) +-1%, on the cent towards the reference.
    assert buy.preview.market_order_collared
    assert buy.preview.order.order_type == common_pb2.ORDER_TYPE_LIMIT
    sent = {o.order_id: o for o in stack.sim.orders()}
    assert (
        sent[buy.order.broker_order_id].order_type,
        sent[buy.order.broker_order_id].lmt_price,
    ) == (
        "LMT",
        Decimal("191.14"),
    )
    assert sent[sell.order.broker_order_id].lmt_price == Decimal("187.36")
    assert sent[sell.order.broker_order_id].order_type == "LMT"

    refused = submit(stack, market("1", stock("SPY")))  # the globals do not name MARKET
    assert (refused.reason, refused.step) == ("ORDER_TYPE_NOT_ALLOWED", "9")
    assert refused.preview is not None and not check(refused.preview, "order_type_allowed").passed
    assert not [o for o in stack.sim.orders() if o.symbol == "SPY"]


def test_submit_when_contract_details_unavailable_or_stale_then_refused(
    make_stack: MakeStack, db_url: str
) -> None:
    clock = FakeClock()
    ages = {"max_contract_details_age_s": "30", "max_reference_age_s": "600"}
    stack = make_stack(db_url=db_url, clock=clock, limits=ages)
    stack.sim.set_stock_details("MSFT", time_zone="Mars/Olympus")
    unreadable = submit(stack, limit("1", "410.00", stock("MSFT")))
    assert unreadable.reason == "REFERENCE_DATA_UNAVAILABLE" and unreadable.meta is not None
    assert unreadable.meta["writer_reason"] == "CONTRACT_HOURS_INVALID"
    assert not [o for o in stack.sim.orders() if o.symbol == "MSFT"]

    for advance_s, reason in ((25, ""), (35, "REFERENCE_DATA_STALE")):
        p = preview(stack, limit("1", "189.00"))
        approval_id = approve(stack, p.preview_id)
        clock.advance(advance_s)
        assert submit_approved(stack, p, approval_id).reason == reason
        used = use("max_contract_details_age_s")
        assert used is not None and (used > 1) is bool(reason)
