"""Encoders for account, position, market-data, contract and housekeeping messages."""

from __future__ import annotations

from decimal import Decimal

from gateway_sim.market import ContractInfo
from gateway_sim.models import Position, Quote
from gateway_sim.protocol import Field, Out


def error(req_id: int, code: int, message: str, version: int) -> list[Field]:
    """ERR_MSG (4); advancedOrderRejectJson is appended from server version 166."""
    fields: list[Field] = [Out.ERR_MSG, 2, req_id, code, message]
    if version >= 166:
        fields.append("")
    return fields


def _contract_short(info: ContractInfo, exchange: str) -> list[Field]:
    """conId .. tradingClass in the 11-field layout used by position messages."""
    return [info.con_id, info.symbol, info.sec_type, info.expiry, info.strike or "0", info.right,
            info.multiplier, exchange, info.currency, info.local_symbol,
            info.trading_class]  # fmt: skip


def position(account: str, info: ContractInfo, pos: Position) -> list[Field]:
    return [Out.POSITION_DATA, 3, account, *_contract_short(info, info.exchange),
            pos.quantity, pos.avg_cost]  # fmt: skip


def portfolio(account: str, info: ContractInfo, pos: Position, quote: Quote) -> list[Field]:
    """PORTFOLIO_VALUE (7) carries primaryExchange where position carries exchange."""
    value = pos.quantity * quote.last
    unrealized = value - pos.quantity * pos.avg_cost
    return [Out.PORTFOLIO_VALUE, 8, *_contract_short(info, info.primary_exchange),
            pos.quantity, quote.last, value, pos.avg_cost, unrealized, Decimal(0),
            account]  # fmt: skip


def account_value(tag: str, value: Decimal | str, currency: str, account: str) -> list[Field]:
    return [Out.ACCT_VALUE, 2, tag, value, currency, account]


def account_update_multi(
    req_id: int, account: str, model: str, tag: str, value: Decimal | str, currency: str
) -> list[Field]:
    return [Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, model, tag, value, currency]


def contract_details(
    req_id: int, info: ContractInfo, version: int, trading_hours: str, liquid_hours: str
) -> list[Field]:
    """CONTRACT_DATA (10); before 164 it had a version field and mdSizeMultiplier."""
    head: list[Field] = [Out.CONTRACT_DATA]
    if version < 164:
        head.append(8)
    exchanges = info.valid_exchanges
    head += [
        req_id,
        info.symbol,
        info.sec_type,
        info.expiry,
        info.strike or "0",
        info.right,
        info.exchange,
        info.currency,
        info.local_symbol,
        info.trading_class,
        info.trading_class,
        info.con_id,
        info.min_tick,
    ]
    if version < 164:
        head.append("1")
    head += [
        info.multiplier,
        info.order_types,
        ",".join(exchanges),
        "1",
        "0",
        info.long_name,
        info.primary_exchange,
        info.expiry[:6],
        "Technology" if info.sec_type == "STK" else "",
        "Computers" if info.sec_type == "STK" else "",
        "Computers" if info.sec_type == "STK" else "",
        info.time_zone,
        trading_hours,
        liquid_hours,
        "",
        "",
        "0",
    ]
    # One market rule id per valid exchange, in the same order.
    rules = ",".join(str(info.market_rule_id) for _ in exchanges)
    head += ["1", "", "", rules, info.expiry, "COMMON" if info.sec_type == "STK" else ""]
    if version == 163:
        head.append("1")
    if version >= 164:
        head += ["1", "1", "100"]
    return head  # fmt: skip


def market_rule(rule_id: int, increments: tuple[tuple[Decimal, Decimal], ...]) -> list[Field]:
    """MARKET_RULE (93): no version field; (lowEdge, increment) pairs from the lowest price."""
    fields: list[Field] = [Out.MARKET_RULE, rule_id, len(increments)]
    for low_edge, increment in increments:
        fields += [low_edge, increment]
    return fields


def tick_price(req_id: int, tick_type: int, price: Decimal, size: Decimal) -> list[Field]:
    return [Out.TICK_PRICE, 6, req_id, tick_type, price, size, 0]


def tick_size(req_id: int, tick_type: int, size: Decimal) -> list[Field]:
    return [Out.TICK_SIZE, 6, req_id, tick_type, size]


def quote_ticks(req_id: int, quote: Quote) -> list[list[Field]]:
    """Bid (1/0), ask (2/3), last (4/5), the tick types a snapshot fills in a Ticker."""
    return [
        tick_price(req_id, 1, quote.bid, quote.bid_size),
        tick_size(req_id, 0, quote.bid_size),
        tick_price(req_id, 2, quote.ask, quote.ask_size),
        tick_size(req_id, 3, quote.ask_size),
        tick_price(req_id, 4, quote.last, quote.last_size),
        tick_size(req_id, 5, quote.last_size),
    ]
