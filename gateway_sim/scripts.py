"""Scripted order, modify and cancel outcomes: queues of scripts and how each bends the events."""

from __future__ import annotations

import dataclasses
from collections import deque

from gateway_sim.engine import Engine, Key
from gateway_sim.events import CommissionOut, ErrorOut, Event, ExecOut, OpenOrderOut, StatusOut
from gateway_sim.faults import CancelScript, Msg, OrderScript, message_text
from gateway_sim.models import HELD, SimOrder
from gateway_sim.protocol import parse_int
from gateway_sim.wire_in import Parsed


def event_key(event: Event) -> Key:
    """The (client id, order id) an event is about."""
    if isinstance(event, ErrorOut):
        return (event.client_id, event.req_id)
    if isinstance(event, CommissionOut):
        return (event.client_id, event.execution.order_id)
    return (event.client_id, event.order.order_id)


def messages(
    msgs: tuple[Msg, ...], client_id: int, order_id: int, order: SimOrder | None
) -> list[Event]:
    return [ErrorOut(client_id, order_id, m.code, message_text(m, order_id, order)) for m in msgs]


class Scripts:
    """Queued scripts and the orders gone silent; only touched from the simulator's loop."""

    def __init__(self) -> None:
        self.orders: deque[tuple[OrderScript, str | None]] = deque()
        self.modifies: deque[OrderScript] = deque()
        self.cancels: deque[CancelScript] = deque()
        # Orders whose every event is swallowed ("silent" placements).
        self.silent: set[Key] = set()

    def clear(self) -> None:
        self.orders.clear()
        self.modifies.clear()
        self.cancels.clear()
        self.silent.clear()

    def _take_order_script(self, order_ref: str) -> OrderScript | None:
        for entry in self.orders:
            script, wanted = entry
            if wanted is None or wanted == order_ref:
                self.orders.remove(entry)
                return script
        return None

    # ---- placements --------------------------------------------------------------------

    def place(self, engine: Engine, client_id: int, p: Parsed, account: str) -> list[Event]:
        """A placeOrder as the engine answers it, bent by the next matching script if any."""
        oid = parse_int(p["order_id"])
        existing = engine.orders.get((client_id, oid))
        if existing is None:
            script = self._take_order_script(p["order_ref"])
            if script is None:
                return engine.place(client_id, p, account)
            return self._new(engine, client_id, oid, p, account, script)
        modifiable = existing.is_working or existing.status == HELD
        if modifiable and self.modifies:
            return self._modify(engine, existing, p, account, self.modifies.popleft())
        return engine.place(client_id, p, account)

    def _new(
        self, engine: Engine, client_id: int, oid: int, p: Parsed, account: str, script: OrderScript
    ) -> list[Event]:
        key = (client_id, oid)
        described = engine.preview(client_id, p, account)  # fills the texts' placeholders
        if script.outcome == "reject":
            # The gateway spends the id and keeps nothing: the messages are the whole answer.
            engine.use_id(client_id, oid)
            return messages(script.before_ack + script.after_ack, client_id, oid, described)
        held = script.why_held if script.outcome == "hold" else ""
        events = engine.place(client_id, p, account, why_held=held)
        order = engine.orders.get(key)
        if order is None:  # refused by the engine's own checks: those answers stand
            return messages(script.before_ack, client_id, oid, described) + events
        if script.outcome == "silent":
            self.silent.add(key)
        return self._shape(engine, order, events, script)

    def _modify(
        self, engine: Engine, order: SimOrder, p: Parsed, account: str, script: OrderScript
    ) -> list[Event]:
        if script.outcome == "reject":
            # The broker keeps the order as it was.
            msgs = script.before_ack + script.after_ack
            return messages(msgs, order.client_id, order.order_id, order)
        events = engine.place(order.client_id, p, account)
        return self._shape(engine, order, events, script)

    def _shape(
        self, engine: Engine, order: SimOrder, events: list[Event], script: OrderScript
    ) -> list[Event]:
        key = (order.client_id, order.order_id)
        if script.fill is not None and order.is_working:
            events += engine.fill_now(order, min(script.fill, order.remaining), None)
        if script.outcome == "silent":
            return [e for e in events if event_key(e) != key]
        before = messages(script.before_ack, *key, order)
        after = messages(script.after_ack, *key, order)
        return before + _acknowledge(events, key, after, script.outcome == "false_cancel")

    # ---- cancels -----------------------------------------------------------------------

    def cancel(self, engine: Engine, client_id: int, oid: int) -> list[Event]:
        """A cancelOrder as the engine answers it, bent by the next cancel script if any."""
        order = engine.orders.get((client_id, oid))
        if order is None or not order.is_working or not self.cancels:
            return engine.cancel(client_id, oid)
        script = self.cancels.popleft()
        if script.outcome == "cancel":
            return messages(script.messages, client_id, oid, order) + engine.cancel(client_id, oid)
        if script.outcome == "ignore":
            return messages(script.messages, client_id, oid, order)
        if script.outcome == "fill_instead":
            events = engine.fill_now(order, order.remaining, None)
            refusal = script.messages or (Msg(10148),)
            return events + messages(refusal, client_id, oid, order)
        # false_cancel: the cancel is confirmed, yet the order fills (the cancel crossed a fill).
        reported = dataclasses.replace(order, status="Cancelled")
        head = messages((*script.messages, Msg(202)), client_id, oid, order)
        fill = engine.fill_now(order, order.remaining, None)
        return [*head, StatusOut(client_id, reported), *fill]


def _acknowledge(
    events: list[Event], key: Key, after: list[Event], false_cancel: bool
) -> list[Event]:
    """Insert AFTER right after the order's first status; for a false cancel, report its
    acceptance (every openOrder/orderStatus before its first fill) as one Cancelled status."""
    out: list[Event] = []
    pending = True
    filling = False
    for event in events:
        mine = event_key(event) == key
        filling = filling or (mine and isinstance(event, ExecOut))
        if false_cancel and mine and not filling and isinstance(event, OpenOrderOut | StatusOut):
            if pending:
                out.append(StatusOut(key[0], dataclasses.replace(event.order, status="Cancelled")))
                out += after
                pending = False
            continue
        out.append(event)
        if pending and mine and isinstance(event, StatusOut):
            out += after
            pending = False
    return out + after if pending else out
