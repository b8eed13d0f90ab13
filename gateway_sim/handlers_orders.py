"""Handlers for order entry and order/execution queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway_sim.core import log
from gateway_sim.protocol import UNSET_INTEGER, Out, parse_bool, parse_int
from gateway_sim.what_if import what_if as preview_margin
from gateway_sim.wire_in import UnsupportedOrderError, parse_cancel_order, parse_place_order
from gateway_sim.wire_out_orders import (
    commission_report,
    completed_order,
    exec_details,
    open_order,
    order_status,
)

if TYPE_CHECKING:
    from gateway_sim.session import Session

# The bracketed tag is an opaque request code in real gateway messages; the text matters.
READ_ONLY_TEXT = "Error validating request.-'{tag}' : cause - The API interface is currently in "
READ_ONLY_TEXT += "Read-Only mode."


def read_only_error(s: Session, req_id: int, tag: str) -> None:
    s.send_error(req_id, 321, READ_ONLY_TEXT.format(tag=tag))


def place_order(s: Session, fields: list[str]) -> None:
    assert s.client_id is not None
    order_id = parse_int(fields[1])
    try:
        parsed = parse_place_order(fields, s.version)
    except UnsupportedOrderError as exc:
        s.send_error(order_id, 201, f"Order rejected - reason:{exc}")
        return
    what_if = parse_bool(parsed["what_if"])
    core = s.core
    if core.refuses("what_if" if what_if else "place"):
        read_only_error(s, order_id, "bN")
        return
    if what_if:
        state = preview_margin(core.engine.ledger, core.engine.quotes, parsed, s.default_account)
        # Consumes the id like IB does, but a what-if order never rests anywhere.
        core.engine.next_id = max(core.engine.next_id, order_id + 1)
        probe = core.engine.preview(s.client_id, parsed, s.default_account)
        s.send(open_order(probe, s.version, state))
        return
    core.route(core.scripts.place(core.engine, s.client_id, parsed, s.default_account))


def cancel_order(s: Session, fields: list[str]) -> None:
    assert s.client_id is not None
    order_id, _manual_time = parse_cancel_order(fields, s.version)
    if s.core.refuses("cancel"):
        read_only_error(s, order_id, "bO")
        return
    s.core.route(s.core.scripts.cancel(s.core.engine, s.client_id, order_id))


def global_cancel(s: Session, _fields: list[str]) -> None:
    if s.core.refuses("cancel"):
        read_only_error(s, -1, "eL")
        return
    s.core.route(s.core.engine.global_cancel())


def open_orders(s: Session, fields: list[str]) -> None:
    if s.core.refuses("queries"):
        # A read-only gateway refuses and sends no openOrderEnd; ib_async then times the
        # request out (IB.connect(timeout=...)) and carries on, logging the timeout.
        read_only_error(s, -1, "kx")
        return
    msg_id = int(fields[0])
    if msg_id == 15:
        return  # auto-open binding has no direct answer
    owner = s.client_id if msg_id == 5 else None
    for order in s.core.engine.open_orders(owner):
        s.send(open_order(order, s.version))
        s.send(order_status(order))
    s.send([Out.OPEN_ORDER_END, 1])


def completed_orders(s: Session, _fields: list[str]) -> None:
    if s.core.refuses("queries"):
        read_only_error(s, UNSET_INTEGER, "kx")
        return
    for order in s.core.engine.completed_orders():
        s.send(completed_order(order, s.version))
    s.send([Out.COMPLETED_ORDERS_END])


def executions(s: Session, fields: list[str]) -> None:
    # [7, 3, reqId, clientId, acctCode, time, symbol, secType, exchange, side]
    req_id = parse_int(fields[2])
    client_id, account, symbol, side = parse_int(fields[3]), fields[4], fields[6], fields[9]
    for x in s.core.engine.executions:
        if client_id and x.client_id != client_id:
            continue
        if account and x.account != account:
            continue
        if symbol and x.symbol != symbol.upper():
            continue
        if side and {"BUY": "BOT", "SELL": "SLD"}.get(side.upper(), side) != x.side:
            continue
        s.send(exec_details(x, req_id, s.version))
        if s.core.held_commissions is None:  # held back: not computed yet, as far as IB says
            s.send(commission_report(x))
    s.send([Out.EXECUTION_DATA_END, 1, req_id])
    log.debug("sent executions to client %s", s.client_id)
