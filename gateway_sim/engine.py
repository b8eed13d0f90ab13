"""Order book and matching: IB order semantics without any wire concerns."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable
from decimal import Decimal

from gateway_sim.contracts import Contracts
from gateway_sim.events import (
    CommissionOut,
    ErrorOut,
    Event,
    ExecOut,
    OpenOrderOut,
    StatusOut,
)
from gateway_sim.ledger import Ledger, commission_for
from gateway_sim.market import QuoteBook
from gateway_sim.models import HELD, SimExecution, SimOrder
from gateway_sim.protocol import parse_bool, parse_decimal, parse_int
from gateway_sim.wire_in import Parsed

SUPPORTED_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT"})
STOP_TYPES = frozenset({"STP", "STP LMT"})
CANCELED_REASON = "Order Canceled - reason:"


Key = tuple[int, int]


def _snap(order: SimOrder) -> SimOrder:
    # The same shallow copy dataclasses.replace would make (SimOrder has no __post_init__, no
    # init=False fields and no slots), without its per-field __init__ call: this runs for
    # every event the engine emits.
    snap = object.__new__(SimOrder)
    snap.__dict__.update(order.__dict__)
    return snap


class Engine:
    """All orders, fills and account state; callers serialise access (one event loop)."""

    def __init__(self, ledger: Ledger, quotes: QuoteBook, contracts: Contracts | None = None):
        self.ledger = ledger
        self.quotes = quotes
        self.contracts = contracts or Contracts()
        self.orders: dict[Key, SimOrder] = {}
        # Indexes over self.orders so a placement costs the same with 10 or 10,000 orders held.
        # Rank = position in self.orders (placement order), which is the order a full scan of
        # the book visits orders in; matching keeps that order to keep the event sequence.
        self._rank: dict[Key, int] = {}
        # (client_id, parent order id) -> children, in placement order; parents never change.
        self._children: dict[Key, list[SimOrder]] = {}
        # (account, oca group) -> rank -> members not yet done.
        self._oca: dict[tuple[str, str], dict[int, SimOrder]] = {}
        # local symbol (a stock's symbol, a derivative's own) -> rank -> transmitted orders not
        # yet done (all working: nothing goes back to Held), i.e. the orders a quote change for
        # that contract may fill.
        self._working_by_symbol: dict[str, dict[int, SimOrder]] = {}
        self.executions: list[SimExecution] = []
        self.highest_id: dict[int, int] = {}
        self.next_id = 1
        self._perm_seq = 1_000_000_000
        self._exec_seq = 0

    # ---- order entry -------------------------------------------------------------------

    def use_id(self, client_id: int, order_id: int) -> None:
        """Spend an order id, as IB does for every placement it answers, accepted or not."""
        self.highest_id[client_id] = max(self.highest_id.get(client_id, 0), order_id)
        self.next_id = max(self.next_id, order_id + 1)

    def place(
        self, client_id: int, p: Parsed, default_account: str, why_held: str = ""
    ) -> list[Event]:
        """A placeOrder: a new order (held back for WHY_HELD if given) or a modify."""
        oid = parse_int(p["order_id"])
        existing = self.orders.get((client_id, oid))
        problem = self._validate(p, default_account)
        if problem is not None:
            return [ErrorOut(client_id, oid, *problem)]
        if existing is None:
            if oid <= self.highest_id.get(client_id, 0):
                return [ErrorOut(client_id, oid, 103, "Duplicate order id")]
            return self._new_order(client_id, oid, p, default_account, why_held)
        if not self._same_contract(existing, p):
            return [ErrorOut(client_id, oid, 103, "Duplicate order id")]
        # IB answers a modify of a filled order with 104; any other done order id (cancelled)
        # counts as reuse of a spent id, which IB reports as 103.
        if existing.status == "Filled":
            return [ErrorOut(client_id, oid, 104, "Can't modify a filled order.")]
        if existing.is_done:
            return [ErrorOut(client_id, oid, 103, "Duplicate order id")]
        return self._modify(existing, p)

    def _validate(self, p: Parsed, default_account: str) -> tuple[int, str] | None:
        if p["order_type"] not in SUPPORTED_TYPES:
            return 201, f"Order rejected - reason:Order type {p['order_type']} is not simulated."
        qty = parse_decimal(p["total_quantity"])
        if qty is None or qty <= 0:
            return 434, "The order size cannot be zero."
        account = p["account"] or default_account
        if account not in self.ledger.accounts:
            return 201, f"Order rejected - reason:Account {account} is not managed by this login."
        if p["order_type"] in ("LMT", "STP LMT") and parse_decimal(p["lmt_price"]) is None:
            return 201, "Order rejected - reason:Limit price is required."
        if p["order_type"] in STOP_TYPES and parse_decimal(p["aux_price"]) is None:
            return 201, "Order rejected - reason:Stop price is required."
        return None

    @staticmethod
    def _same_contract(order: SimOrder, p: Parsed) -> bool:
        con_id = parse_int(p["con_id"])
        if con_id and order.con_id and con_id != order.con_id:
            return False
        return order.symbol == p["symbol"].upper() and order.sec_type == (p["sec_type"] or "STK")

    def _new_order(
        self, client_id: int, oid: int, p: Parsed, default_account: str, why_held: str
    ) -> list[Event]:
        self.use_id(client_id, oid)
        parent_id = parse_int(p["parent_id"])
        parent = self.orders.get((client_id, parent_id)) if parent_id else None
        if parent_id and parent is None:
            return [ErrorOut(client_id, oid, 135, f"Can't find order with id ={parent_id}")]
        self._perm_seq += 1
        order = self.preview(client_id, p, default_account)
        order.perm_id = self._perm_seq
        order.parent_perm_id = parent.perm_id if parent else 0
        order.why_held = why_held
        rank = len(self.orders)
        self.orders[(client_id, oid)] = order
        self._rank[(client_id, oid)] = rank
        if parent_id:
            self._children.setdefault((client_id, parent_id), []).append(order)
        if order.oca_group:
            self._oca.setdefault((order.account, order.oca_group), {})[rank] = order
        if not order.transmit:
            # IB keeps untransmitted orders silently until something transmits them.
            return []
        return self._transmit(order)

    def preview(self, client_id: int, p: Parsed, default_account: str) -> SimOrder:
        """Build the order a placeOrder describes, without storing it (also used by what-if)."""
        info = self.contracts.for_order(p)
        qty = parse_decimal(p["total_quantity"]) or Decimal(0)
        return SimOrder(
            order_id=parse_int(p["order_id"]),
            perm_id=0,
            client_id=client_id,
            account=p["account"] or default_account,
            symbol=info.symbol,
            sec_type=info.sec_type,
            exchange=p["exchange"] or "SMART",
            currency=info.currency,
            action=p["action"],
            total_quantity=qty,
            order_type=p["order_type"],
            lmt_price=parse_decimal(p["lmt_price"]),
            aux_price=parse_decimal(p["aux_price"]),
            tif=p["tif"] or "DAY",
            order_ref=p["order_ref"],
            parent_id=parse_int(p["parent_id"]),
            oca_group=p["oca_group"],
            transmit=parse_bool(p["transmit"]),
            status=HELD,
            remaining=qty,
            what_if=parse_bool(p["what_if"]),
            con_id=info.con_id,
            primary_exchange=info.primary_exchange,
            local_symbol=info.local_symbol,
            expiry=info.expiry,
            strike=info.strike,
            right=info.right,
            multiplier=info.multiplier,
            oca_type=parse_int(p["oca_type"]),
            outside_rth=parse_bool(p["outside_rth"]),
            placed_fields=dict(p),
        )

    def _modify(self, order: SimOrder, p: Parsed) -> list[Event]:
        order.total_quantity = parse_decimal(p["total_quantity"]) or order.total_quantity
        order.remaining = order.total_quantity - order.filled
        order.order_type = p["order_type"]
        order.lmt_price = parse_decimal(p["lmt_price"])
        order.aux_price = parse_decimal(p["aux_price"])
        order.tif = p["tif"] or order.tif
        order.order_ref = p["order_ref"]
        self._set_oca_group(order, p["oca_group"])
        order.oca_type = parse_int(p["oca_type"])
        order.outside_rth = parse_bool(p["outside_rth"])
        order.placed_fields = dict(p)
        was_held = order.status == HELD
        order.transmit = parse_bool(p["transmit"])
        if was_held:
            return self._transmit(order) if order.transmit else []
        # Events are encoded before anything mutates the order again, so both share a snapshot.
        snap = _snap(order)
        events: list[Event] = [
            OpenOrderOut(order.client_id, snap),
            StatusOut(order.client_id, snap),
        ]
        self._match(events, (order,))
        return events

    def _set_oca_group(self, order: SimOrder, group: str) -> None:
        if group == order.oca_group:
            return
        rank = self._rank_of(order)
        if order.oca_group:
            self._oca.get((order.account, order.oca_group), {}).pop(rank, None)
        order.oca_group = group
        if group and not order.is_done:
            self._oca.setdefault((order.account, group), {})[rank] = order

    def _work(self, order: SimOrder) -> None:
        self._working_by_symbol.setdefault(order.key, {})[self._rank_of(order)] = order

    def _rank_of(self, order: SimOrder) -> int:
        return self._rank[(order.client_id, order.order_id)]

    def _transmit(self, order: SimOrder) -> list[Event]:
        """Transmitting any member of a bracket transmits its parent and held siblings."""
        root = order
        if order.parent_id:
            root = self.orders.get((order.client_id, order.parent_id), order)
        group = [root] + [
            o for o in self._children.get((root.client_id, root.order_id), ()) if o is not root
        ]
        events: list[Event] = []
        transmitted: list[SimOrder] = []
        for member in group:
            if member.status != HELD:
                continue
            if member.why_held:
                # Held back (e.g. while shares are located): rests PreSubmitted, never matched.
                member.status = "PreSubmitted"
            else:
                member.status = self._desired_status(member)
                self._work(member)
            transmitted.append(member)
            snap = _snap(member)
            events.append(OpenOrderOut(member.client_id, snap))
            events.append(StatusOut(member.client_id, snap))
        self._match(events, transmitted)
        return events

    # ---- cancellation ------------------------------------------------------------------

    def cancel(self, client_id: int, oid: int) -> list[Event]:
        order = self.orders.get((client_id, oid))
        if order is None:
            msg = f"OrderId {oid} that needs to be cancelled is not found."
            return [ErrorOut(client_id, oid, 10147, msg)]
        if order.is_done:
            msg = f"OrderId {oid} that needs to be cancelled cannot be cancelled, state: "
            return [ErrorOut(client_id, oid, 10148, msg + f"{order.status}.")]
        events: list[Event] = []
        self._cancel_one(order, events)
        return events

    def global_cancel(self) -> list[Event]:
        events: list[Event] = []
        for order in list(self.orders.values()):
            if not order.is_done:
                self._cancel_one(order, events)
        return events

    def _cancel_one(self, order: SimOrder, events: list[Event]) -> None:
        if order.is_done:
            return
        order.status = "Cancelled"
        self._retire(order)
        order.completed_time = _now_str()
        order.completed_status = "Cancelled by API"
        events.append(ErrorOut(order.client_id, order.order_id, 202, CANCELED_REASON))
        events.append(StatusOut(order.client_id, _snap(order)))
        for child in self._children_of(order):
            self._cancel_one(child, events)

    def _children_of(self, order: SimOrder) -> list[SimOrder]:
        return self._children.get((order.client_id, order.order_id), [])

    def _retire(self, order: SimOrder) -> None:
        """Drop a done order from the indexes that only hold live orders."""
        rank = self._rank_of(order)
        working = self._working_by_symbol.get(order.key)
        if working is not None:
            working.pop(rank, None)
        if order.oca_group:
            members = self._oca.get((order.account, order.oca_group))
            if members is not None:
                members.pop(rank, None)

    # ---- matching ----------------------------------------------------------------------

    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal, last: Decimal) -> list[Event]:
        self.quotes.set(symbol, bid, ask, last)
        events: list[Event] = []
        # Only this symbol's orders see a different quote; every other order is as it was
        # after the last match, which found nothing to do for it.
        working = self._working_by_symbol.get(symbol.upper(), {})
        self._match(events, list(working.values()))
        return events

    def _is_active(self, order: SimOrder) -> bool:
        if not order.parent_id:
            return True
        parent = self.orders.get((order.client_id, order.parent_id))
        return parent is None or parent.status == "Filled"

    def _desired_status(self, order: SimOrder) -> str:
        # IB simulates stops for stocks, so they show PreSubmitted until triggered.
        if not self._is_active(order):
            return "PreSubmitted"
        if order.order_type in STOP_TYPES and not order.triggered:
            return "PreSubmitted"
        return "Submitted"

    def _fill_price(self, order: SimOrder) -> Decimal | None:
        quote = self.quotes.get(order.key)
        buy = order.action == "BUY"
        if order.order_type in STOP_TYPES and not order.triggered:
            assert order.aux_price is not None
            hit = quote.last >= order.aux_price if buy else quote.last <= order.aux_price
            if not hit:
                return None
            order.triggered = True
        if order.order_type in ("MKT", "STP"):
            return quote.ask if buy else quote.bid
        assert order.lmt_price is not None
        if buy and order.lmt_price >= quote.ask:
            return quote.ask
        if not buy and order.lmt_price <= quote.bid:
            return quote.bid
        return None

    def _match(self, events: list[Event], candidates: Iterable[SimOrder]) -> None:
        """Evaluate the orders that may have become fillable, as a full scan of the book would.

        After every match no working order can fill or change status until something it
        depends on changes: its own terms (transmit, modify), its symbol's quote (set_quote) or
        its parent's fill. Callers pass the orders so touched; the children a fill activates
        are added here. Visiting them by rank reproduces the full scan's order, hence its events.
        """
        pending = {self._rank_of(o): o for o in candidates}
        # Every productive pass fills at least one order for good, so this bound is never hit
        # by a correct book; it only stops a logic bug from spinning the event loop.
        for _ in range(len(self.orders) + 1):
            if not pending:
                return
            queued, pending = pending, {}
            heap = list(queued)
            heapq.heapify(heap)
            while heap:
                rank = heapq.heappop(heap)
                order = queued[rank]
                if not order.is_working or order.why_held or not self._is_active(order):
                    continue
                price = self._fill_price(order)
                desired = self._desired_status(order)
                if desired != order.status:
                    order.status = desired
                    events.append(StatusOut(order.client_id, _snap(order)))
                if price is None:
                    continue
                self._fill(order, price, events)
                for child in self._children_of(order):
                    child_rank = self._rank_of(child)
                    if child_rank > rank:
                        # Placed after its parent (always): a full scan reaches it this pass.
                        if child_rank not in queued:
                            queued[child_rank] = child
                            heapq.heappush(heap, child_rank)
                    else:
                        # A full scan would only see it on its next pass.
                        pending[child_rank] = child

    def fill_now(self, order: SimOrder, shares: Decimal, price: Decimal | None) -> list[Event]:
        """Fill SHARES of a working order at once (partially when fewer remain), at PRICE or
        at its limit (market orders: the quote's far side)."""
        if not order.is_working:
            raise ValueError(f"order {order.order_id} is {order.status}, not working")
        if not 0 < shares <= order.remaining:
            raise ValueError(
                f"cannot fill {shares} of order {order.order_id}: {order.remaining} left"
            )
        if order.why_held:
            # Whatever held it (a locate) is resolved by the fill; it works as usual from now.
            order.why_held = ""
            order.status = self._desired_status(order)
            self._work(order)
        if price is None:
            quote = self.quotes.get(order.key)
            price = order.lmt_price or (quote.ask if order.action == "BUY" else quote.bid)
        events: list[Event] = []
        self._fill(order, price, events, shares)
        return events

    def _fill(
        self, order: SimOrder, price: Decimal, events: list[Event], part: Decimal | None = None
    ) -> None:
        shares = order.remaining if part is None else part
        if order.filled:
            total = order.avg_fill_price * order.filled + price * shares
            order.avg_fill_price = total / (order.filled + shares)
        else:
            order.avg_fill_price = price
        order.filled += shares
        order.remaining -= shares
        order.last_fill_price = price
        done = order.remaining == 0
        if done:
            order.status = "Filled"
            self._retire(order)
            order.completed_time = _now_str()
            order.completed_status = "Filled Size: " + str(order.filled)
        side = "BOT" if order.action == "BUY" else "SLD"
        fee = commission_for(shares, price)
        self._exec_seq += 1
        execution = SimExecution(
            exec_id=f"0000e1a7.{order.perm_id:08x}.{self._exec_seq:02d}.01",
            order_id=order.order_id,
            perm_id=order.perm_id,
            account=order.account,
            symbol=order.symbol,
            side=side,
            shares=shares,
            price=price,
            time=dt.datetime.now(dt.UTC).replace(microsecond=0),
            commission=fee,
            order_ref=order.order_ref,
            client_id=order.client_id,
            con_id=order.con_id,
            sec_type=order.sec_type,
            local_symbol=order.key,
            expiry=order.expiry,
            strike=order.strike,
            right=order.right,
            multiplier=order.multiplier,
            exchange="ISLAND",
            currency=order.currency,
            cum_qty=order.filled,
            avg_price=order.avg_fill_price,
        )
        self.executions.append(execution)
        self.ledger.apply_fill(order.account, order.key, side, shares, price, fee)
        snap = _snap(order)
        events.append(ExecOut(order.client_id, execution, snap))
        events.append(StatusOut(order.client_id, snap))
        events.append(CommissionOut(order.client_id, execution))
        if not done:
            return
        # Matching always fills completely, and a partial fill (fill_now) leaves the group
        # alone, so every OCA type reduces to a cancel of the other bracket children and OCA
        # members once an order is done, visited in placement order like a full scan.
        others: dict[int, SimOrder] = {}
        if order.parent_id:
            for sibling in self._children.get((order.client_id, order.parent_id), ()):
                others[self._rank_of(sibling)] = sibling
        if order.oca_group:
            others.update(self._oca.get((order.account, order.oca_group), {}))
        for rank in sorted(others):
            other = others[rank]
            if other is not order and not other.is_done:
                self._cancel_one(other, events)

    # ---- queries -----------------------------------------------------------------------

    def open_orders(self, client_id: int | None) -> list[SimOrder]:
        return [
            _snap(o)
            for o in self.orders.values()
            if o.is_working and (client_id is None or o.client_id == client_id)
        ]

    def completed_orders(self) -> list[SimOrder]:
        return [_snap(o) for o in self.orders.values() if o.is_done]


def _now_str() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
