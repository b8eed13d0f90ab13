"""Message-id dispatch table and the handlers for session, account and market-data requests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway_sim import handlers_orders as orders
from gateway_sim.market import KNOWN_CON_IDS, contract_info
from gateway_sim.protocol import Out, parse_bool, parse_int
from gateway_sim.wire_out_misc import (
    account_update_multi,
    account_value,
    contract_details,
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
            s.send(position(account, contract_info(symbol), pos))
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
        s.send(portfolio(account, contract_info(symbol), pos, engine.quotes.get(symbol)))
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


def contract_data(s: Session, fields: list[str]) -> None:
    # [9, 8, reqId, conId, symbol, secType, lastTrade, strike, right, multiplier, exchange,
    #  primaryExchange, currency, localSymbol, tradingClass, includeExpired, secIdType, secId..]
    req_id, con_id, symbol, sec_type = parse_int(fields[2]), parse_int(fields[3]), *fields[4:6]
    if not symbol and con_id:
        symbol = next((sym for sym, cid in KNOWN_CON_IDS.items() if cid == con_id), "")
    if not symbol or sec_type not in ("", "STK"):
        s.send_error(req_id, 200, "No security definition has been found for the request")
        return
    s.send(contract_details(req_id, contract_info(symbol, "STK", fields[12]), s.version))
    s.send([Out.CONTRACT_DATA_END, 1, req_id])


def market_data(s: Session, fields: list[str]) -> None:
    # [1, 11, reqId, <12 contract fields>, dncFlag, (dnc x3), ticks, snapshot, regSnapshot, opts]
    req_id, symbol, sec_type = parse_int(fields[2]), fields[4].upper(), fields[5]
    if sec_type == "BAG":
        s.send_error(req_id, 200, "No security definition has been found for the request")
        return
    pos = 16 + (3 if fields[15] == "1" else 0)
    snapshot = parse_bool(fields[pos + 1])
    s.send([Out.MARKET_DATA_TYPE, 1, req_id, s.market_data_type])
    for msg in quote_ticks(req_id, s.core.engine.quotes.get(symbol)):
        s.send(msg)
    if snapshot:
        s.send([Out.TICK_SNAPSHOT_END, 1, req_id])
    else:
        s.subscriptions[req_id] = symbol


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
    99: orders.completed_orders,
}
