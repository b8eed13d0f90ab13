"""The simulator's fault-injection methods: what a real gateway says besides the happy path."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from gateway_sim.core import SimCore
from gateway_sim.faults import (
    MODIFY_OUTCOMES,
    READ_ONLY_REFUSES,
    CancelScript,
    Msg,
    OrderScript,
    message_text,
)

T = TypeVar("T")


class FaultApi:
    """Mixed into GatewaySimulator; every method runs on the simulator's loop (thread-safe)."""

    _core: SimCore

    def _call(self, fn: Callable[[], T]) -> T:
        raise NotImplementedError

    # ---- scripted outcomes -------------------------------------------------------------

    def script_orders(
        self, script: OrderScript, count: int = 1, order_ref: str | None = None
    ) -> None:
        """Apply SCRIPT to the next COUNT new-order placements whose orderRef is ORDER_REF
        (any when None); scripts queue in the order given."""
        _check_count(count)
        self._call(lambda: self._core.scripts.orders.extend([(script, order_ref)] * count))

    def script_modifies(self, script: OrderScript, count: int = 1) -> None:
        """Apply SCRIPT to the next COUNT modifies of a working order ("reject": the broker
        keeps the order unmodified and sends only the messages)."""
        _check_count(count)
        if script.outcome not in MODIFY_OUTCOMES:
            raise ValueError(f"a modify outcome must be one of {sorted(MODIFY_OUTCOMES)}")
        self._call(lambda: self._core.scripts.modifies.extend([script] * count))

    def script_cancels(self, script: CancelScript, count: int = 1) -> None:
        """Apply SCRIPT to the next COUNT cancels of a working order (other cancels are
        answered as usual and do not use a script)."""
        _check_count(count)
        self._call(lambda: self._core.scripts.cancels.extend([script] * count))

    def reject_next_order(self, code: int, message: str) -> None:
        """The next new order gets only this error, and the broker keeps nothing."""
        self.script_orders(OrderScript(before_ack=(Msg(code, message),), outcome="reject"))

    # ---- at any time -------------------------------------------------------------------

    def send_message(self, order_id: int, code: int, message: str | None = None) -> None:
        """Send an error/warning callback tied to ORDER_ID now, to the client owning it (to
        every client when no order has that id); None: the real gateway's text for CODE."""
        msg = Msg(code, message)

        def apply() -> None:
            core = self._core
            order = next((o for o in core.engine.orders.values() if o.order_id == order_id), None)
            text = message_text(msg, order_id, order)
            owner = core.sessions.get(order.client_id) if order is not None else None
            for session in [owner] if order is not None else list(core.sessions.values()):
                if session is not None:
                    session.send_error(order_id, code, text)

        self._call(apply)

    def fill(
        self,
        *,
        order_id: int | None = None,
        order_ref: str | None = None,
        quantity: Decimal,
        price: Decimal | None = None,
    ) -> None:
        """Fill QUANTITY of the one working order with that id or orderRef now (partially when
        fewer remain), at PRICE or at its limit (market orders: the quote's far side)."""
        if (order_id is None) == (order_ref is None):
            raise ValueError("give exactly one of order_id and order_ref")

        def apply() -> None:
            engine = self._core.engine
            found = [
                o
                for o in engine.orders.values()
                if o.is_working and (o.order_id == order_id or o.order_ref == order_ref)
            ]
            if len(found) != 1:
                wanted = f"id {order_id}" if order_id is not None else f"orderRef {order_ref!r}"
                raise ValueError(f"{len(found)} working orders have {wanted}")
            fill_price = None if price is None else Decimal(price)
            self._core.route(engine.fill_now(found[0], Decimal(quantity), fill_price))

        self._call(apply)

    def hold_commissions(self) -> None:
        """Keep commission reports back until release_commissions (IB sends each apart from,
        and after, its execution)."""

        def apply() -> None:
            if self._core.held_commissions is None:
                self._core.held_commissions = []

        self._call(apply)

    def release_commissions(self) -> None:
        """Send the commission reports held back, and stop holding them."""

        def apply() -> None:
            held, self._core.held_commissions = self._core.held_commissions or [], None
            self._core.route(list(held))

        self._call(apply)

    # ---- the gateway's mode and answers ------------------------------------------------

    def set_read_only(self, read_only: bool, flavor: str = "queries_refused") -> None:
        """Switch read-only mode for existing and new connections. "queries_refused": orders,
        cancels, what-if and the open/completed-order queries get 321; "what_if_refused": the
        queries are answered; "what_if_allowed": what-if answered, the queries refused."""
        if flavor not in READ_ONLY_REFUSES:
            raise ValueError(f"flavor must be one of {sorted(READ_ONLY_REFUSES)}")

        def apply() -> None:
            self._core.read_only = read_only
            self._core.read_only_flavor = flavor

        self._call(apply)

    def delay(self, kind: str, seconds: float) -> None:
        """Delay every answer of KIND (faults.ANSWER_KINDS) by SECONDS; 0 clears. The broker
        acts at once (the order rests, the cancel happens); only its answer is late."""
        self._call(lambda: self._core.answers.set_delay(kind, seconds))

    def drop(self, kind: str, count: int = 1) -> None:
        """Swallow the next COUNT answers of KIND whole (statuses, errors, End messages);
        the broker still acts on the requests."""
        self._call(lambda: self._core.answers.set_drop(kind, count))

    def set_delay(self, seconds: float) -> None:
        """Delay everything sent to every client (answers and pushes alike) by SECONDS."""
        if not 0 <= seconds <= 60:
            raise ValueError("delay must be within 0..60 seconds")

        def apply() -> None:
            self._core.delay = seconds

        self._call(apply)

    def drop_connections(self) -> None:
        self._call(self._core.drop_all)

    def roll_back_next_valid_id_on_reconnect(self, n: int) -> None:
        if n < 0:
            raise ValueError("n must be >= 0")

        def apply() -> None:
            self._core.rollback_next_valid_id = n

        self._call(apply)

    def clear_faults(self) -> None:
        """Forget every script, delay, drop and silenced order; read-only as configured."""

        def apply() -> None:
            core = self._core
            core.scripts.clear()
            core.answers.clear()
            core.delay = 0.0
            core.rollback_next_valid_id = 0
            core.held_commissions = None
            core.read_only = core.config.read_only
            core.read_only_flavor = core.config.flavor

        self._call(apply)


def _check_count(count: int) -> None:
    if count < 1:
        raise ValueError("count must be >= 1")
