"""Shared simulator state and routing of engine events to connected sessions."""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

from gateway_sim.answers import Answers
from gateway_sim.config import SimConfig
from gateway_sim.contracts import Contracts
from gateway_sim.engine import Engine
from gateway_sim.events import (
    CommissionOut,
    ErrorOut,
    Event,
    ExecOut,
    OpenOrderOut,
    StatusOut,
)
from gateway_sim.faults import READ_ONLY_REFUSES
from gateway_sim.ledger import Ledger
from gateway_sim.market import QuoteBook
from gateway_sim.models import ReceivedMessage
from gateway_sim.scripts import Scripts, event_key
from gateway_sim.wire_out_misc import account_value, portfolio, position, quote_ticks
from gateway_sim.wire_out_orders import commission_report, exec_details, open_order, order_status

if TYPE_CHECKING:
    from gateway_sim.session import Session

log = logging.getLogger("gateway_sim")
# Tests replay whole sessions; 100k messages is far beyond any of them yet bounds memory.
MAX_RECEIVED = 100_000


class SimCore:
    """State that outlives connections and restarts; only touched from the sim's loop."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        quotes = QuoteBook()
        for spec in config.quotes:
            quotes.set(spec.symbol, spec.bid, spec.ask, spec.last)
        contracts = Contracts()
        ledger = Ledger(config.accounts, config.starting_cash, contracts)
        self.engine = Engine(ledger, quotes, contracts)
        self.read_only = config.read_only
        self.read_only_flavor = config.flavor
        self.scripts = Scripts()
        self.answers = Answers()
        self.delay = 0.0
        self.rollback_next_valid_id = 0
        # While not None, commission reports wait here (IB sends them after the execution).
        self.held_commissions: list[CommissionOut] | None = None
        self.sessions: dict[int, Session] = {}
        self.connections: set[Session] = set()
        self.received: deque[ReceivedMessage] = deque(maxlen=MAX_RECEIVED)

    def refuses(self, what: str) -> bool:
        """Whether a read-only gateway answers WHAT (place, cancel, what_if, queries) with 321."""
        return self.read_only and what in READ_ONLY_REFUSES[self.read_only_flavor]

    def route(self, events: list[Event]) -> None:
        """Send each event to the connection of the client that owns the order, if any."""
        filled: dict[tuple[str, str], None] = {}
        silent = self.scripts.silent
        for event in events:
            if isinstance(event, ExecOut):
                execution = event.execution
                filled[(execution.account, execution.local_symbol or execution.symbol)] = None
            if silent and event_key(event) in silent:
                continue
            if isinstance(event, CommissionOut) and self.held_commissions is not None:
                self.held_commissions.append(event)
                continue
            session = self.sessions.get(event.client_id)
            if session is None:
                continue
            v = session.version
            if isinstance(event, StatusOut):
                session.send(order_status(event.order))
            elif isinstance(event, OpenOrderOut):
                session.send(open_order(event.order, v, event.what_if))
            elif isinstance(event, ExecOut):
                session.send(exec_details(event.execution, event.req_id, v))
            elif isinstance(event, CommissionOut):
                session.send(commission_report(event.execution))
            elif isinstance(event, ErrorOut):
                session.send_error(event.req_id, event.code, event.message)

        for account, symbol in filled:
            self.push_holdings(account, symbol)

    def push_holdings(self, account: str, symbol: str) -> None:
        """What IB streams to reqPositions / reqAccountUpdates subscribers after a fill."""
        engine = self.engine
        pos = engine.ledger.positions.get((account, symbol))
        if pos is None:
            return
        info = engine.contracts.by_key(symbol)
        values = engine.ledger.values(account, engine.quotes)
        for session in list(self.connections):
            if session.positions_subscribed:
                session.send(position(account, info, pos))
            if session.account_subscription == account:
                session.send(portfolio(account, info, pos, engine.quotes.get(symbol)))
                for tag, value in values.items():
                    session.send(account_value(tag, value, "USD", account))

    def push_quote(self, symbol: str) -> None:
        quote = self.engine.quotes.get(symbol)
        for session in list(self.connections):
            for req_id, sub_symbol in list(session.subscriptions.items()):
                if sub_symbol == symbol.upper():
                    for msg in quote_ticks(req_id, quote):
                        session.send(msg)

    def next_valid_id_for_new_connection(self) -> int:
        rollback, self.rollback_next_valid_id = self.rollback_next_valid_id, 0
        return max(1, self.engine.next_id - rollback)

    def drop_all(self) -> None:
        for session in list(self.connections):
            session.abort()
