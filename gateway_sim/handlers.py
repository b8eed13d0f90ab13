"""Message-id dispatch table and the handlers for session, account and market-data requests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway_sim import handlers_orders as orders
from gateway_sim.contracts import always_open
from gateway_sim.market import KNOWN_CON_IDS, ContractInfo
from gateway_sim.protocol import Out, parse_bool, parse_int
from gateway_sim.wire_out_misc import (
    account_update_multi,
    account_value,
    contract_details,
    market_rule,
    portfolio,
    position,
    quote_ticks,
)

if TYPE_CHECKING:
    from gateway_sim.session import Session

Handler = Callable[["Session", list[str]], None]

# What a healthy gateway reports right after the API starts (warnings, reqId -1).
FARM_STATUS = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)


def start_api(s: Session, fields: list[str]) -> None:
    if s.client_id is not None:
        return
    client_id = parse_int(fields[2])
    if client_id in s.core.sessions:
        s.send_error(
            -1, 326, "Unable to connect as the client id is already in use. Retry with a unique "
            "client id."
        )  # fmt: skip
        s.close_after_flush()
        return
    s.client_id = client_id
    s.core.sessions[client_id] = s
    s.send([Out.MANAGED_ACCTS, 1, ",".join(s.core.config.accounts)])
    s.send([Out.NEXT_VALID_ID, 1, s.core.next_valid_id_for_new_connection()])
    for code, text in FARM_STATUS:
        s.send_error(-1, code, text)


def req_ids(s: Session, _fields: list[str]) -> None:
    s.send([Out.NEXT_VALID_ID, 1, s.core.engine.next_id])


def managed_accounts(s: Session, _fields: list[str]) -> None:
    s.send([Out.MANAGED_ACCTS, 1, ",".join(s.core.config.accounts)])


def current_time(s: Session, _fields: list[str]) -> None:
    s.send([Out.CURRENT_TIME, 1, int(time.time())])


def positions(s: Session, _fields: list[str]) -> None:
    s.positions_subscribed = True
    ledger = s.core.engine.ledger
    for account in ledger.accounts:
        for symbol, pos in ledger.positions_of(account):
            s.send(position(account, ledger.contracts.by_key(symbol), pos))
    s.send([Out.POSITION_END, 1])


def account_updates(s: Session, fields: list[str]) -> None:
    # [6, 2, subscribe, acctCode]
    if not parse_bool(fields[2]):
        s.account_subscription = None
        return
    account = fields[3] or s.default_account
    s.account_subscription = account
    engine = s.core.engine
    for tag, value in engine.ledger.values(account, engine.quotes).items():
        s.send(account_value(tag, value, "USD", account))
    s.send(account_value("AccountCode", account, "", account))
    for symbol, pos in engine.ledger.positions_of(account):
        info = engine.contracts.by_key(symbol)
        s.send(portfolio(account, info, pos, engine.quotes.get(symbol)))
    s.send([Out.ACCT_UPDATE_TIME, 1, dt.datetime.now(dt.UTC).strftime("%H:%M")])
    s.send([Out.ACCT_DOWNLOAD_END, 1, account])


def account_updates_multi(s: Session, fields: list[str]) -> None:
    # [76, 1, reqId, account, modelCode, ledgerAndNLV]
    req_id, account, model = parse_int(fields[2]), fields[3] or s.default_account, fields[4]
    engine = s.core.engine
    for tag, value in engine.ledger.values(account, engine.quotes).items():
        s.send(account_update_multi(req_id, account, model, tag, value, "USD"))
    s.send([Out.ACCOUNT_UPDATE_MULTI_END, 1, req_id])


def account_summary(s: Session, fields: list[str]) -> None:
    # [62, 1, reqId, group, tags]
    req_id, wanted = parse_int(fields[2]), set(fields[4].split(","))
    engine = s.core.engine
    for account in engine.ledger.accounts:
        for tag, value in engine.ledger.values(account, engine.quotes).items():
            if tag in wanted:
                s.send([Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, "USD"])
    s.send([Out.ACCOUNT_SUMMARY_END, 1, req_id])


def _contract_fields(fields: list[str], at: int) -> dict[str, str]:
    """The contract a request describes from FIELDS[AT] on (conId, symbol, ..., currency)."""
    names = ("con_id", "symbol", "sec_type", "last_trade_date", "strike", "right", "multiplier",
             "exchange", "primary_exchange", "currency")  # fmt: skip
    return dict(zip(names, fields[at : at + len(names)], strict=True))


def contract_data(s: Session, fields: list[str]) -> None:
    # [9, 8, reqId, conId, symbol, secType, lastTrade, strike, right, multiplier, exchange,
    #  primaryExchange, currency, localSymbol, tradingClass, includeExpired, secIdType, secId..]
    req_id, con_id, symbol = parse_int(fields[2]), parse_int(fields[3]), fields[4]
    described = _contract_fields(fields, 3)
    if not symbol and con_id:
        described["symbol"] = next((sym for sym, cid in KNOWN_CON_IDS.items() if cid == con_id), "")
    found = s.core.engine.contracts.matching(described)
    if described["sec_type"] not in ("", "STK", "FUT", "OPT") or not found:
        s.send_error(req_id, 200, "No security definition has been found for the request")
        return
    for info in found:
        s.send(contract_details(req_id, info, s.version, *_hours(info)))
    s.send([Out.CONTRACT_DATA_END, 1, req_id])


def _hours(info: ContractInfo) -> tuple[str, str]:
    """(tradingHours, liquidHours) as IB sends them, today's when the contract is always open."""
    trading = always_open(info.time_zone) if info.trading_hours is None else info.trading_hours
    liquid = info.liquid_hours if info.liquid_hours is not None else trading
    return trading, liquid


def req_market_rule(s: Session, fields: list[str]) -> None:
    # [91, marketRuleId]; an unknown rule gets no answer, as from TWS.
    rule_id = parse_int(fields[1])
    increments = s.core.engine.contracts.rules.get(rule_id)
    if increments is not None:
        s.send(market_rule(rule_id, increments))


def market_data(s: Session, fields: list[str]) -> None:
    # [1, 11, reqId, <12 contract fields>, dncFlag, (dnc x3), ticks, snapshot, regSnapshot, opts]
    req_id, sec_type = parse_int(fields[2]), fields[5]
    found = s.core.engine.contracts.matching(_contract_fields(fields, 3))
    if sec_type == "BAG" or not found:
        s.send_error(req_id, 200, "No security definition has been found for the request")
        return
    key = found[0].local_symbol
    pos = 16 + (3 if fields[15] == "1" else 0)
    snapshot = parse_bool(fields[pos + 1])
    s.send([Out.MARKET_DATA_TYPE, 1, req_id, s.market_data_type])
    for msg in quote_ticks(req_id, s.core.engine.quotes.get(key)):
        s.send(msg)
    if snapshot:
        s.send([Out.TICK_SNAPSHOT_END, 1, req_id])
    else:
        s.subscriptions[req_id] = key


def cancel_market_data(s: Session, fields: list[str]) -> None:
    s.subscriptions.pop(parse_int(fields[2]), None)


def market_data_type(s: Session, fields: list[str]) -> None:
    s.market_data_type = parse_int(fields[2], 1)


def cancel_positions(s: Session, _fields: list[str]) -> None:
    s.positions_subscribed = False


def ignore(_s: Session, _fields: list[str]) -> None:
    """Cancels of subscriptions the simulator never streams."""


HANDLERS: dict[int, Handler] = {
    1: market_data,
    2: cancel_market_data,
    3: orders.place_order,
    4: orders.cancel_order,
    5: orders.open_orders,
    6: account_updates,
    7: orders.executions,
    8: req_ids,
    9: contract_data,
    15: orders.open_orders,
    16: orders.open_orders,
    17: managed_accounts,
    49: current_time,
    58: orders.global_cancel,
    59: market_data_type,
    61: positions,
    62: account_summary,
    63: ignore,
    64: cancel_positions,
    71: start_api,
    76: account_updates_multi,
    77: ignore,
    91: req_market_rule,
    99: orders.completed_orders,
}
