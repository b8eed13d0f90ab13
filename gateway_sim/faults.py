"""The fault API's vocabulary: what a real IB Gateway says besides the happy path, as data.

A real gateway answers a placeOrder or cancelOrder with error callbacks tied to the order id,
and many of them are not refusals. How `ib_async` 2.1.0 (`Wrapper.error`) files each code the
simulator scripts decides what a writer sees; the writer must decide from the broker's truth
(open orders, completed orders, executions), never from the code alone:

| code  | what the simulator sends                        | ib_async files it      | rests?   |
| ----- | ----------------------------------------------- | ---------------------- | -------- |
| 2109  | warning before the ack: outsideRth ignored      | warning (ValidationErr)| yes      |
| 2137  | cross-side warning before the ack               | warning (ValidationErr)| yes      |
| 399   | "Order Message: ... not placed ... until"       | warning (ValidationErr)| yes      |
| 404   | before a PreSubmitted ack, whyHeld "locate"     | warning (ValidationErr)| yes, held|
| 10167 | delayed-market-data notice on the order id      | warning (ValidationErr)| yes      |
| 201   | the whole answer to a rejected placement        | error: Cancelled       | no       |
| 202   | with orderStatus Cancelled (real or false)      | error: Cancelled       | no / yes |
| 10147 | cancel of an order id the gateway does not know | error: Cancelled       | no       |
| 10148 | cancel refused ("state: Filled" after a fill)   | error: Cancelled¹      | no       |
| 321   | read-only refusal: place, cancel, what-if       | warning (ValidationErr)| no       |
| 103   | duplicate order id                              | error: Cancelled       | no       |
| 104   | modify of a filled order                        | error: Cancelled¹      | no       |
| 110   | price off the tick grid                         | error² / warning       | no / yes |
| 135   | parent order id not found                       | error: Cancelled       | no       |
| 161   | cancel of an order not in a cancellable state   | error: Cancelled¹      | depends  |
| 434   | order size zero                                 | warning (ValidationErr)| no       |

¹ only a trade that is not done yet (a Filled trade stays Filled); ² while PendingSubmit.
"ValidationErr" is ib_async's status "ValidationError", which it counts as active.

ib_async's warning list is {105, 110, 165, 321, 329, 399, 404, 434, 492, 10167} plus 2100-2199;
every other code on an order id marks a trade that is not done Cancelled, even when the order
still works at the broker (a false cancel) — and a warning leaves "ValidationError", an active
status, even on a placement the gateway never accepted (321, 434).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from gateway_sim.models import SimOrder

ORDER_OUTCOMES: Final = frozenset({"work", "reject", "hold", "false_cancel", "silent"})
MODIFY_OUTCOMES: Final = frozenset({"work", "reject", "false_cancel", "silent"})
CANCEL_OUTCOMES: Final = frozenset({"cancel", "ignore", "fill_instead", "false_cancel"})
ANSWER_KINDS: Final = frozenset(
    {
        "place_ack",
        "modify_ack",
        "cancel_ack",
        "open_orders",
        "completed_orders",
        "executions",
        "what_if",
        "quote",
        "any",
    }
)
# What a read-only gateway refuses with 321, per flavor (gateways differ).
READ_ONLY_REFUSES: Final[dict[str, frozenset[str]]] = {
    "queries_refused": frozenset({"place", "cancel", "what_if", "queries"}),
    "what_if_refused": frozenset({"place", "cancel", "what_if"}),
    # SimConfig(what_if_refused_in_read_only=False): queries refused, what-if answered.
    "what_if_allowed": frozenset({"place", "cancel", "queries"}),
}

# Texts as real gateways send them; placeholders are filled from the order concerned.
# Sources: TWS API message codes, https://interactivebrokers.github.io/tws-api/message_codes.html
# (and its IBKR Campus successor, tws-api-error-codes); wire captures quoted in public issues:
MESSAGE_TEXTS: Final[dict[int, str]] = {
    # Wire form "Order Event Warning:Attribute '...'" (the docs print curly quotes and "now
    # processed"): QuantConnect/Lean IB brokerage and IBridgePy logs quote the wire text.
    2109: "Order Event Warning:Attribute 'Outside Regular Trading Hours' is ignored based on the "
    "order type and destination. PlaceOrder is now being processed.",
    # The docs title it "Cross Side Warning"; the wire text is quoted by IBridgePy
    # ("errorCode=2137 errorMessage=The closing order quantity is greater than ...").
    2137: "The closing order quantity is greater than your current position.",
    # ib_insync/ib_async users' logs of IB's "Order Message" (a TIME warning on an order queued
    # for the open), e.g. "Order Message:\nBUY 33 AAPL NASDAQ.NMS\nWarning: Your order will ...".
    399: "Order Message:\n{action} {quantity} {symbol} NASDAQ.NMS\nWarning: Your order will not "
    "be placed at the exchange until {next_open} 09:30:00 US/Eastern.",
    # erdewit/ib_insync#328: "Error 404, reqId 41686: Order held while securities are located."
    # (the docs' long form: "Shares for this order are not immediately available for short sale").
    404: "Order held while securities are located.",
    # softwarespartan/IB4m#101, wboayue/rust-ibapi#672.
    10167: "Requested market data is not subscribed. Displaying delayed market data.",
    # A real reason quoted from IB by public broker docs (tiger FAQ): 201 carries the reason.
    201: "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. MINIMUM OF 2000 USD (OR EQUIVALENT "
    "IN OTHER CURRENCIES) REQUIRED IN ORDER TO PURCHASE ON MARGIN, SELL SHORT, TRADE CURRENCY OR "
    "FUTURE",
    # The wire form of an API cancel (empty reason), e.g. in rust-ibapi and ib-ruby tests.
    202: "Order Canceled - reason:",
    # erdewit/ib_insync#656: "Error 10147, reqId 15073: OrderId 15073 that needs to be
    # cancelled is not found." and "Error 10148 ... cannot be cancelled, state: Filled."
    10147: "OrderId {order_id} that needs to be cancelled is not found.",
    10148: "OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {status}.",
    # 'bN' is the opaque request tag of a placeOrder; the text after it is what matters.
    321: "Error validating request.-'bN' : cause - The API interface is currently in Read-Only "
    "mode.",
    103: "Duplicate order id",
    104: "Can't modify a filled order.",
    110: "The price does not conform to the minimum price variation for this contract.",
    135: "Can't find order with id ={order_id}",
    # Captured with two spaces before "Order permId" (public Go client's live-gateway replays).
    161: "Cancel attempted when order is not in a cancellable state.  Order permId ={perm_id}",
    434: "The order size cannot be zero.",
}


@dataclass(frozen=True)
class Msg:
    """One error/warning callback tied to an order id; message None: the real gateway's text."""

    code: int
    message: str | None = None

    def __post_init__(self) -> None:
        if self.message is None and self.code not in MESSAGE_TEXTS:
            raise ValueError(f"no text known for code {self.code}: give message=")


@dataclass(frozen=True)
class OrderScript:
    """What the broker does with one placeOrder (or modify); never applies to what-if.

    outcome: "work" rests and fills as usual; "reject" keeps nothing (only the messages answer);
    "hold" rests PreSubmitted with whyHeld WHY_HELD, never matched until `fill` releases it;
    "false_cancel" reports orderStatus Cancelled yet keeps the order working; "silent" rests
    and works but nothing at all is ever sent for it (queries still show it).
    before_ack is sent before any openOrder/orderStatus of the order, after_ack right after its
    first status; fill fills that quantity at once after acceptance (partial if < total).
    """

    before_ack: tuple[Msg, ...] = ()
    outcome: str = "work"
    after_ack: tuple[Msg, ...] = ()
    fill: Decimal | None = None
    why_held: str = "locate"

    def __post_init__(self) -> None:
        if self.outcome not in ORDER_OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(ORDER_OUTCOMES)}")
        if self.fill is not None and Decimal(self.fill) <= 0:
            raise ValueError("fill must be a positive quantity")
        # Lists are accepted for convenience; a frozen script must not share mutable state.
        object.__setattr__(self, "before_ack", tuple(self.before_ack))
        object.__setattr__(self, "after_ack", tuple(self.after_ack))


@dataclass(frozen=True)
class CancelScript:
    """What the broker does with one cancelOrder of a working order.

    outcome: "cancel" as usual (messages, then IB's 202 and orderStatus Cancelled); "ignore"
    keeps the order working and sends only the messages; "fill_instead" fills the rest, then
    sends the messages (none given: IB's 10148 "... state: Filled."); "false_cancel" sends the
    messages, 202 and orderStatus Cancelled, then fills the rest (a cancel crossing a fill).
    """

    messages: tuple[Msg, ...] = ()
    outcome: str = "cancel"

    def __post_init__(self) -> None:
        if self.outcome not in CANCEL_OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(CANCEL_OUTCOMES)}")
        object.__setattr__(self, "messages", tuple(self.messages))


def message_text(msg: Msg, order_id: int, order: SimOrder | None) -> str:
    """The text to send for MSG about ORDER_ID (ORDER fills the placeholders when known)."""
    if msg.message is not None:
        return msg.message
    # Without an order (one the gateway never kept) the placeholders render empty.
    known = {name: getattr(order, name, "") for name in ("perm_id", "status", "action", "symbol")}
    return MESSAGE_TEXTS[msg.code].format(
        order_id=order_id,
        quantity=getattr(order, "total_quantity", ""),
        next_open=(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat(),
        **known,
    )
