"""The writer's reference-data calls over mTLS, answered by the simulator through ib_async."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from gateway_sim.contracts import STOCK_MARKET_RULE, hours_text
from livegate_api.v1 import common_pb2, writer_pb2
from tests.support.writers import ACCOUNT
from tests.writer.conftest import RunningWriter
from tests.writer.test_orders import limit_order, refusal, submit

STOCK = common_pb2.SEC_TYPE_STOCK


def _details(rw: RunningWriter, **instrument: object) -> writer_pb2.ContractDetails:
    return rw.policy.GetContractDetails(
        writer_pb2.GetContractDetailsRequest(instrument=common_pb2.Instrument(**instrument)),
        timeout=10,
    )


def _utc(stamp: Timestamp) -> dt.datetime:
    return stamp.ToDatetime(tzinfo=dt.UTC)


def test_contract_details_when_stock_then_tick_increments_and_sessions_in_utc(
    running: RunningWriter,
) -> None:
    zone = ZoneInfo("US/Eastern")
    today = dt.datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    regular = (today + dt.timedelta(hours=9, minutes=30), today + dt.timedelta(hours=16))
    extended = (today + dt.timedelta(hours=4), today + dt.timedelta(hours=20))
    running.sim.set_stock_details(
        "AAPL",
        market_rule_id=239,
        trading_hours=hours_text([extended], "US/Eastern"),
        liquid_hours=hours_text([regular], "US/Eastern"),
    )
    details = _details(running, symbol="AAPL", sec_type=STOCK)
    assert (details.min_tick, details.multiplier, details.market_rule_id) == ("0.01", "1", 239)
    assert [(i.low_edge, i.increment) for i in details.price_increments] == [
        ("0", "0.0001"),
        ("1", "0.01"),
    ]
    assert details.time_zone == "US/Eastern" and details.con_id == 265598
    [trading] = details.trading_sessions
    [liquid] = details.liquid_sessions
    assert (_utc(trading.start), _utc(trading.end)) == tuple(t.astimezone(dt.UTC) for t in extended)
    assert (_utc(liquid.start), _utc(liquid.end)) == tuple(t.astimezone(dt.UTC) for t in regular)
    assert "LMT" in details.order_types


def test_contract_details_when_future_then_multiplier_and_resolved_expiry(
    running: RunningWriter,
) -> None:
    running.sim.add_future("ES", "20261218", "50", min_tick=Decimal("0.25"), market_rule_id=67)
    running.sim.set_market_rule(67, [("0", "0.25")])
    future = common_pb2.SEC_TYPE_FUTURE
    details = _details(running, symbol="ES", sec_type=future, exchange="CME", expiry="202612")
    assert (details.multiplier, details.min_tick, details.local_symbol) == ("50", "0.25", "ESZ6")
    assert details.instrument.expiry == "20261218"
    assert [(i.low_edge, i.increment) for i in details.price_increments] == [("0", "0.25")]


def test_contract_details_when_option_named_then_strike_right_and_multiplier(
    running: RunningWriter,
) -> None:
    for right in ("C", "P"):
        running.sim.add_option("AAPL", "20261218", Decimal("190"), right)
    put = common_pb2.OPTION_RIGHT_PUT
    details = _details(running, symbol="AAPL", sec_type=common_pb2.SEC_TYPE_OPTION,
                       expiry="20261218", strike="190", right=put)  # fmt: skip
    assert details.multiplier == "100"
    assert details.instrument.right == common_pb2.OPTION_RIGHT_PUT
    assert details.instrument.strike == "190"


def test_contract_details_when_month_names_two_futures_then_ambiguous(
    running: RunningWriter,
) -> None:
    running.sim.add_future("ES", "20261218", "50")
    running.sim.add_future("ES", "20261211", "50", local_symbol="ES1211")
    with pytest.raises(grpc.RpcError) as caught:
        _details(running, symbol="ES", sec_type=common_pb2.SEC_TYPE_FUTURE, expiry="202612")
    code, reason, meta = refusal(caught)
    assert (code, reason, meta["matches"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INSTRUMENT_AMBIGUOUS",
        "2",
    )


def test_contract_details_when_unknown_future_then_not_found(running: RunningWriter) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _details(running, symbol="NQ", sec_type=common_pb2.SEC_TYPE_FUTURE, expiry="202612")
    assert refusal(caught)[:2] == (grpc.StatusCode.NOT_FOUND, "INSTRUMENT_NOT_FOUND")


def test_contract_details_when_hours_unreadable_then_refused_not_guessed(
    running: RunningWriter,
) -> None:
    running.sim.set_stock_details("AAPL", time_zone="Mars/Olympus")
    with pytest.raises(grpc.RpcError) as caught:
        _details(running, symbol="AAPL", sec_type=STOCK)
    assert refusal(caught)[:2] == (grpc.StatusCode.FAILED_PRECONDITION, "CONTRACT_HOURS_INVALID")


def test_account_state_when_positions_and_working_orders_then_all_with_values(
    running: RunningWriter,
) -> None:
    local = running.sim.add_future("ES", "20261218", "50")
    running.sim.set_position(ACCOUNT, local, Decimal(-2), Decimal("250000"))
    running.sim.set_position(ACCOUNT, "AAPL", Decimal(10), Decimal("150"))
    placed = submit(running, "k-state-1", limit_order("7", "150.00")).order
    state = running.policy.GetAccountState(
        writer_pb2.GetAccountStateRequest(account_id=ACCOUNT), timeout=10
    )
    held = {p.instrument.symbol: p for p in state.positions}
    assert (held["ES"].quantity, held["ES"].multiplier) == ("-2", "50")
    assert (held["AAPL"].quantity, held["AAPL"].con_id) == ("10", 265598)
    [working] = state.working_orders
    assert (working.broker_order_id, working.remaining) == (placed.broker_order_id, "7")
    assert (working.action, working.order_ref) == (common_pb2.ACTION_BUY, "k-state-1")
    assert Decimal(state.gross_position_value) > 0 and Decimal(state.excess_liquidity) > 0
    assert state.as_of.seconds > 0


def test_account_state_when_account_not_managed_then_refused(running: RunningWriter) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        running.policy.GetAccountState(
            writer_pb2.GetAccountStateRequest(account_id="U0000001"), timeout=10
        )
    assert refusal(caught)[:2] == (grpc.StatusCode.PERMISSION_DENIED, "ACCOUNT_NOT_MANAGED")


def test_preview_margin_when_order_then_margin_after_and_nothing_rests(
    running: RunningWriter,
) -> None:
    impact = running.policy.PreviewMargin(
        writer_pb2.PreviewMarginRequest(
            request_id="r1", account_id=ACCOUNT, order=limit_order("100", "180.00")
        ),
        timeout=10,
    )
    # AAPL last 189.25 in the test simulator: 100 x 189.25 x 50% initial, 25% maintenance.
    assert Decimal(impact.init_margin_change) == Decimal("9462.50")
    assert Decimal(impact.maint_margin_after) == Decimal("4731.25")
    expected = Decimal(impact.equity_with_loan_after) - Decimal(impact.maint_margin_after)
    assert Decimal(impact.excess_liquidity_after) == expected
    assert running.sim.working_orders() == []


def test_list_fills_when_order_filled_then_fill_with_key_and_contract(
    running: RunningWriter,
) -> None:
    since = Timestamp()
    since.FromDatetime(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    placed = submit(running, "k-fill-1", limit_order("3", "190.00")).order  # above the ask
    reply = running.policy.ListFills(
        writer_pb2.ListFillsRequest(account_id=ACCOUNT, since=since), timeout=10
    )
    [fill] = [f for f in reply.fills if f.order_ref == "k-fill-1"]
    assert (fill.broker_order_id, fill.quantity) == (placed.broker_order_id, "3")
    assert fill.con_id == 265598
    assert fill.action == common_pb2.ACTION_BUY and fill.instrument.symbol == "AAPL"
    later = Timestamp()
    later.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert not running.policy.ListFills(
        writer_pb2.ListFillsRequest(account_id=ACCOUNT, since=later), timeout=10
    ).fills


def test_contract_details_when_many_ask_at_once_with_a_cold_rule_cache_then_every_one_answered(
    running: RunningWriter,
) -> None:
    # ib_async keys a market rule's answer by the rule id: concurrent first lookups used to
    # replace each other's request, and all but one waited out ib_async's 1 s timeout. Late
    # answers make the lookups overlap: every rule request goes out before the first answer.
    running.sim.delay("any", 0.3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda _i: _details(running, symbol="MSFT", sec_type=STOCK), range(8))
        )
    assert {(a.market_rule_id, len(a.price_increments)) for a in answers} == {
        (STOCK_MARKET_RULE, 1)
    }
