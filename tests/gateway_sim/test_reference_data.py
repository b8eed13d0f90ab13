"""Reference data through an unmodified ib_async client: contract details, rules, holdings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from ib_async import Contract, Future, LimitOrder, Option, Stock

from gateway_sim import GatewaySimulator
from gateway_sim.contracts import hours_text
from tests.gateway_sim.helpers import Clients, wait_until

pytestmark = pytest.mark.timeout(60)
ACCOUNT = "U1234567"


def test_contract_details_when_stock_then_tick_rule_hours_and_time_zone(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    [details] = ib.reqContractDetails(Stock("AAPL", "SMART", "USD"))
    assert details.minTick == 0.01
    assert details.timeZoneId == "US/Eastern"
    assert details.contract is not None and details.contract.multiplier == ""
    exchanges = details.validExchanges.split(",")
    assert details.marketRuleIds.split(",") == ["26"] * len(exchanges)
    today = dt.datetime.now(ZoneInfo("US/Eastern")).strftime("%Y%m%d")
    # Open around the clock by default: a session starting at local midnight of today.
    assert f"{today}:0000-" in details.tradingHours
    assert details.liquidHours == details.tradingHours


def test_contract_details_when_hours_set_then_sent_as_set(
    sim: GatewaySimulator, clients: Clients
) -> None:
    zone = "Europe/London"
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo(zone))
    trading = hours_text([(start, start + dt.timedelta(hours=8, minutes=30))], zone)
    liquid = "20260302:0900-20260302:1600;20260303:CLOSED"
    sim.set_stock_details(
        "VOD", time_zone=zone, trading_hours=trading, liquid_hours=liquid, min_tick=Decimal("0.5")
    )
    ib = clients.connect(sim)
    [details] = ib.reqContractDetails(Stock("VOD", "SMART", "USD"))
    assert (details.tradingHours, details.liquidHours) == ("20260302:0800-20260302:1630", liquid)
    assert (details.timeZoneId, details.minTick) == (zone, 0.5)


def test_contract_details_when_future_defined_then_multiplier_expiry_and_tick(
    sim: GatewaySimulator, clients: Clients
) -> None:
    local = sim.add_future("ES", "20261218", "50", min_tick=Decimal("0.25"), market_rule_id=67)
    sim.set_market_rule(67, [("0", "0.25")])
    ib = clients.connect(sim)
    [details] = ib.reqContractDetails(Future("ES", "202612", "CME"))
    contract = details.contract
    assert contract is not None
    assert (contract.localSymbol, contract.multiplier) == (local, "50")
    assert contract.lastTradeDateOrContractMonth == "20261218"
    assert details.minTick == 0.25 and details.marketRuleIds == "67"
    [rule] = [ib.reqMarketRule(int(details.marketRuleIds))]
    assert [(r.lowEdge, r.increment) for r in rule] == [(0.0, 0.25)]


def test_contract_details_when_option_defined_then_strike_right_and_multiplier(
    sim: GatewaySimulator, clients: Clients
) -> None:
    sim.add_option("AAPL", "20261218", Decimal("190"), "C")
    sim.add_option("AAPL", "20261218", Decimal("190"), "P")
    ib = clients.connect(sim)
    [details] = ib.reqContractDetails(Option("AAPL", "20261218", 190, "C", "SMART"))
    contract = details.contract
    assert contract is not None
    assert (contract.strike, contract.right, contract.multiplier) == (190.0, "C", "100")
    # Without the right both contracts answer: the caller must name one.
    assert len(ib.reqContractDetails(Option("AAPL", "20261218", 190, "", "SMART"))) == 2


def test_contract_details_when_derivative_undefined_then_no_security_definition(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    assert ib.reqContractDetails(Future("NQ", "202612", "CME")) == []


def test_market_rule_when_sub_penny_rule_then_two_increments(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    rule = ib.reqMarketRule(239)
    assert [(r.lowEdge, r.increment) for r in rule] == [(0.0, 0.0001), (1.0, 0.01)]


def test_positions_when_future_held_then_contract_carries_multiplier(
    sim: GatewaySimulator, clients: Clients
) -> None:
    local = sim.add_future("ES", "20261218", "50")
    sim.set_position(ACCOUNT, local, Decimal(-2), Decimal("250000"))
    sim.set_position(ACCOUNT, "AAPL", Decimal(10), Decimal("150"))
    ib = clients.connect(sim)
    held = {p.contract.localSymbol: p for p in ib.reqPositions()}
    assert held[local].position == -2.0 and held[local].contract.multiplier == "50"
    assert held["AAPL"].position == 10.0 and held["AAPL"].contract.multiplier == ""


def test_fill_when_future_order_then_execution_and_position_of_that_contract(
    sim: GatewaySimulator, clients: Clients
) -> None:
    local = sim.add_future("ES", "20261218", "50")
    sim.set_quote(local, Decimal("5000.00"), Decimal("5000.25"), Decimal("5000.25"))
    ib = clients.connect(sim)
    [qualified] = ib.qualifyContracts(Future("ES", "20261218", "CME"))
    ib.placeOrder(qualified, LimitOrder("BUY", 2, 5000.50))
    assert wait_until(ib, lambda: len(ib.fills()) == 1)
    [fill] = ib.fills()
    assert fill.contract.localSymbol == local and fill.contract.multiplier == "50"
    assert wait_until(ib, lambda: [p.position for p in ib.positions()] == [2.0])
    # The cash paid is price x quantity x multiplier.
    values = {v.tag: v.value for v in ib.accountSummary(ACCOUNT)}
    assert Decimal(values["TotalCashValue"]) < Decimal(100000) - Decimal(500000)


def test_what_if_when_future_then_margin_counts_the_multiplier(
    sim: GatewaySimulator, clients: Clients
) -> None:
    local = sim.add_future("ES", "20261218", "50")
    sim.set_quote(local, Decimal("5000.00"), Decimal("5000.25"), Decimal("5000.00"))
    ib = clients.connect(sim)
    contract = Contract(conId=0, symbol="ES", secType="FUT", exchange="CME", currency="USD")
    contract.lastTradeDateOrContractMonth = "20261218"
    state = ib.whatIfOrder(contract, LimitOrder("BUY", 1, 5000.00))
    assert Decimal(state.initMarginChange) == Decimal("125000.00")  # 5000 x 50 x 50%
    assert Decimal(state.maintMarginChange) == Decimal("62500.00")
