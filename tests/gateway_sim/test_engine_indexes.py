"""The engine's incremental matching and its indexes, checked against a full scan of the book.

The engine only evaluates orders that something touched (transmit, modify, a quote for their
symbol, their parent's fill). These tests fail if an index goes stale: an order left out of one
would keep resting although it crosses, or be filled/cancelled although it is done.
"""

from __future__ import annotations

import copy
import random
from decimal import Decimal

from gateway_sim.engine import Engine
from gateway_sim.events import CommissionOut, ErrorOut, Event, ExecOut, OpenOrderOut, StatusOut
from gateway_sim.ledger import Ledger
from gateway_sim.market import QuoteBook
from gateway_sim.models import HELD
from gateway_sim.wire_in import Parsed

ACCOUNTS = ("U1234567", "U7654321")
D = Decimal


def _engine() -> Engine:
    # Default quotes: AAPL 189.90 / 190.10 (last 190.00), MSFT 410.00 / 410.20 (last 410.10).
    return Engine(Ledger(ACCOUNTS, D(1_000_000)), QuoteBook())


def _order(
    oid: int,
    order_type: str = "LMT",
    action: str = "BUY",
    lmt: str = "",
    aux: str = "",
    symbol: str = "AAPL",
    parent: int = 0,
    oca: str = "",
    transmit: bool = True,
    qty: str = "1",
    account: str = ACCOUNTS[0],
) -> Parsed:
    return {
        "order_id": str(oid),
        "con_id": "0",
        "symbol": symbol,
        "sec_type": "STK",
        "exchange": "SMART",
        "currency": "USD",
        "action": action,
        "total_quantity": qty,
        "order_type": order_type,
        "lmt_price": lmt,
        "aux_price": aux,
        "tif": "DAY",
        "order_ref": f"ref-{oid}",
        "parent_id": str(parent),
        "oca_group": oca,
        "transmit": "1" if transmit else "0",
        "what_if": "0",
        "oca_type": "1" if oca else "0",
        "outside_rth": "0",
        "account": account,
    }


def _trace(events: list[Event]) -> list[tuple[str, int, str]]:
    out: list[tuple[str, int, str]] = []
    for e in events:
        if isinstance(e, OpenOrderOut):
            out.append(("open", e.order.order_id, e.order.status))
        elif isinstance(e, StatusOut):
            out.append(("status", e.order.order_id, e.order.status))
        elif isinstance(e, ExecOut):
            out.append(("exec", e.execution.order_id, str(e.execution.price)))
        elif isinstance(e, CommissionOut):
            out.append(("commission", e.execution.order_id, ""))
        elif isinstance(e, ErrorOut):
            out.append(("error", e.req_id, str(e.code)))
    return out


def _filled(events: list[Event]) -> list[int]:
    return [e.execution.order_id for e in events if isinstance(e, ExecOut)]


def assert_indexes_fresh(engine: Engine) -> None:
    """Rebuild every index from engine.orders, and check no order was left unmatched."""
    orders = list(engine.orders.values())
    assert engine._rank == {key: i for i, key in enumerate(engine.orders)}
    children: dict[tuple[int, int], list[object]] = {}
    for o in orders:
        if o.parent_id:
            children.setdefault((o.client_id, o.parent_id), []).append(o)
    assert {k: v for k, v in engine._children.items() if v} == children
    oca: dict[tuple[str, str], set[int]] = {}
    for o in orders:
        if o.oca_group and not o.is_done:
            oca.setdefault((o.account, o.oca_group), set()).add(id(o))
    assert {k: {id(o) for o in v.values()} for k, v in engine._oca.items() if v} == oca
    working: dict[str, set[int]] = {}
    for o in orders:
        if o.is_working:
            working.setdefault(o.symbol, set()).add(id(o))
    assert {
        k: {id(o) for o in v.values()} for k, v in engine._working_by_symbol.items() if v
    } == working
    # What a full scan would find: nothing. Copies, since evaluating a stop may trigger it.
    for o in orders:
        if not o.is_working or not engine._is_active(o):
            continue
        probe = copy.copy(o)
        assert engine._fill_price(probe) is None, f"order {o.order_id} crosses but rests"
        assert engine._desired_status(probe) == o.status, f"order {o.order_id} status stale"


def test_bracket_when_parent_fills_then_children_activate_and_marketable_child_fills() -> None:
    engine = _engine()
    engine.place(1, _order(1, lmt="188", transmit=False), ACCOUNTS[0])
    engine.place(1, _order(2, action="SELL", lmt="187", parent=1, transmit=False), ACCOUNTS[0])
    events = engine.place(1, _order(3, "STP", "SELL", aux="185", parent=1), ACCOUNTS[0])
    assert _trace(events) == [
        ("open", 1, "Submitted"),
        ("status", 1, "Submitted"),
        ("open", 2, "PreSubmitted"),
        ("status", 2, "PreSubmitted"),
        ("open", 3, "PreSubmitted"),
        ("status", 3, "PreSubmitted"),
    ]
    assert_indexes_fresh(engine)
    events = engine.set_quote("AAPL", D("187.50"), D("187.90"), D("187.70"))
    # Parent fills at the ask; the take-profit goes live, is marketable at the bid and fills,
    # which cancels the stop-loss (its bracket sibling).
    assert _trace(events) == [
        ("exec", 1, "187.90"),
        ("status", 1, "Filled"),
        ("commission", 1, ""),
        ("status", 2, "Submitted"),
        ("exec", 2, "187.50"),
        ("status", 2, "Filled"),
        ("commission", 2, ""),
        ("error", 3, "202"),
        ("status", 3, "Cancelled"),
    ]
    assert_indexes_fresh(engine)
    assert engine.set_quote("AAPL", D("180"), D("180.1"), D("180")) == []


def test_bracket_when_held_child_transmitted_after_parent_filled_then_child_active() -> None:
    engine = _engine()
    engine.place(1, _order(1, "MKT"), ACCOUNTS[0])
    assert engine.orders[(1, 1)].status == "Filled"
    engine.place(1, _order(2, action="SELL", lmt="200", parent=1, transmit=False), ACCOUNTS[0])
    assert engine.orders[(1, 2)].status == HELD
    assert_indexes_fresh(engine)
    events = engine.place(
        1, _order(2, action="SELL", lmt="189.5", parent=1, transmit=True), ACCOUNTS[0]
    )
    assert _filled(events) == [2]
    assert_indexes_fresh(engine)


def test_bracket_when_parent_modified_to_marketable_then_children_evaluated_too() -> None:
    engine = _engine()
    engine.place(1, _order(1, lmt="180", transmit=False), ACCOUNTS[0])
    engine.place(1, _order(2, action="SELL", lmt="189", parent=1), ACCOUNTS[0])
    assert [o.status for o in engine.orders.values()] == ["Submitted", "PreSubmitted"]
    events = engine.place(1, _order(1, lmt="190.10"), ACCOUNTS[0])
    assert _filled(events) == [1, 2]
    assert_indexes_fresh(engine)


def test_bracket_when_child_on_other_symbol_and_parent_fills_on_quote_then_child_fills() -> None:
    engine = _engine()
    engine.place(1, _order(1, lmt="189", transmit=False), ACCOUNTS[0])
    engine.place(1, _order(2, action="SELL", lmt="409", symbol="MSFT", parent=1), ACCOUNTS[0])
    assert_indexes_fresh(engine)
    events = engine.set_quote("AAPL", D("188.80"), D("189.00"), D("188.90"))
    assert _trace(events) == [
        ("exec", 1, "189.00"),
        ("status", 1, "Filled"),
        ("commission", 1, ""),
        ("status", 2, "Submitted"),
        ("exec", 2, "410.00"),
        ("status", 2, "Filled"),
        ("commission", 2, ""),
    ]
    assert_indexes_fresh(engine)


def test_bracket_when_held_children_transmitted_after_parent_filled_then_each_evaluated() -> None:
    engine = _engine()
    engine.place(1, _order(1, "MKT"), ACCOUNTS[0])
    engine.place(1, _order(2, action="SELL", lmt="200", parent=1, transmit=False), ACCOUNTS[0])
    events = engine.place(1, _order(3, action="SELL", lmt="189", parent=1), ACCOUNTS[0])
    assert _trace(events) == [
        ("open", 2, "Submitted"),
        ("status", 2, "Submitted"),
        ("open", 3, "Submitted"),
        ("status", 3, "Submitted"),
        ("exec", 3, "189.90"),
        ("status", 3, "Filled"),
        ("commission", 3, ""),
        ("error", 2, "202"),
        ("status", 2, "Cancelled"),
    ]
    assert_indexes_fresh(engine)


def test_fill_when_bracket_siblings_and_oca_members_to_cancel_then_cancelled_by_placement() -> None:
    engine = _engine()
    engine.place(1, _order(1, "MKT"), ACCOUNTS[0])  # filled parent: its children are active
    engine.place(1, _order(2, lmt="100", oca="g"), ACCOUNTS[0])  # standalone OCA member
    engine.place(1, _order(3, action="SELL", lmt="200", parent=1, oca="g"), ACCOUNTS[0])
    engine.place(1, _order(4, action="SELL", lmt="201", parent=1), ACCOUNTS[0])
    events = engine.place(1, _order(3, action="SELL", lmt="189", parent=1, oca="g"), ACCOUNTS[0])
    # Order 3 fills; its OCA peer (2) was placed before its bracket sibling (4).
    assert _trace(events)[2:] == [
        ("exec", 3, "189.90"),
        ("status", 3, "Filled"),
        ("commission", 3, ""),
        ("error", 2, "202"),
        ("status", 2, "Cancelled"),
        ("error", 4, "202"),
        ("status", 4, "Cancelled"),
    ]
    assert_indexes_fresh(engine)


def test_oca_when_member_fills_then_others_cancelled_in_placement_order_and_never_fill() -> None:
    engine = _engine()
    engine.place(1, _order(1, lmt="189", oca="g"), ACCOUNTS[0])
    engine.place(2, _order(7, lmt="188", oca="g"), ACCOUNTS[0])  # another client, same group
    engine.place(1, _order(2, lmt="187", oca="g"), ACCOUNTS[0])
    engine.place(1, _order(3, lmt="186", oca="g", account=ACCOUNTS[1]), ACCOUNTS[0])
    events = engine.set_quote("AAPL", D("188.80"), D("189.00"), D("188.90"))
    assert _trace(events) == [
        ("exec", 1, "189.00"),
        ("status", 1, "Filled"),
        ("commission", 1, ""),
        ("error", 7, "202"),
        ("status", 7, "Cancelled"),
        ("error", 2, "202"),
        ("status", 2, "Cancelled"),
    ]
    assert_indexes_fresh(engine)
    # The cancelled members must not come back through any index.
    events = engine.set_quote("AAPL", D("180"), D("180.10"), D("180"))
    assert _filled(events) == [3]
    assert_indexes_fresh(engine)


def test_oca_when_group_changed_by_modify_then_old_group_no_longer_cancels_it() -> None:
    engine = _engine()
    engine.place(1, _order(1, lmt="189", oca="a"), ACCOUNTS[0])
    engine.place(1, _order(2, lmt="185", oca="a"), ACCOUNTS[0])
    engine.place(1, _order(2, lmt="185", oca="b"), ACCOUNTS[0])  # modify: leaves group a
    assert_indexes_fresh(engine)
    events = engine.set_quote("AAPL", D("188.80"), D("189.00"), D("188.90"))
    assert _trace(events) == [("exec", 1, "189.00"), ("status", 1, "Filled"), ("commission", 1, "")]
    assert engine.orders[(1, 2)].status == "Submitted"
    assert_indexes_fresh(engine)


def test_modify_when_resting_order_made_marketable_then_fills() -> None:
    engine = _engine()
    engine.place(1, _order(1, lmt="180"), ACCOUNTS[0])
    engine.place(1, _order(2, lmt="181"), ACCOUNTS[0])
    events = engine.place(1, _order(2, lmt="190.10"), ACCOUNTS[0])
    assert _trace(events) == [
        ("open", 2, "Submitted"),
        ("status", 2, "Submitted"),
        ("exec", 2, "190.10"),
        ("status", 2, "Filled"),
        ("commission", 2, ""),
    ]
    assert engine.orders[(1, 1)].status == "Submitted"
    assert_indexes_fresh(engine)


def test_set_quote_when_other_symbol_moves_then_only_its_orders_fill() -> None:
    engine = _engine()
    engine.place(1, _order(1, lmt="189"), ACCOUNTS[0])
    engine.place(1, _order(2, lmt="409", symbol="MSFT"), ACCOUNTS[0])
    engine.place(1, _order(3, "STP", "SELL", aux="405", symbol="MSFT"), ACCOUNTS[0])
    events = engine.set_quote("msft", D("408.50"), D("408.90"), D("408.70"))
    assert _filled(events) == [2]
    assert [o.status for o in engine.orders.values()] == ["Submitted", "Filled", "PreSubmitted"]
    assert_indexes_fresh(engine)
    events = engine.set_quote("AAPL", D("188.50"), D("188.90"), D("188.70"))
    assert _filled(events) == [1]
    events = engine.set_quote("MSFT", D("404.50"), D("404.90"), D("404.70"))
    # The stop triggers (Submitted) and, being a market stop, fills at the bid.
    assert _trace(events) == [
        ("status", 3, "Submitted"),
        ("exec", 3, "404.50"),
        ("status", 3, "Filled"),
        ("commission", 3, ""),
    ]
    assert_indexes_fresh(engine)


def test_cancel_when_resting_order_cancelled_then_quote_move_does_not_fill_it() -> None:
    engine = _engine()
    engine.place(1, _order(1, lmt="189"), ACCOUNTS[0])
    engine.place(1, _order(2, lmt="189"), ACCOUNTS[0])
    engine.cancel(1, 1)
    assert_indexes_fresh(engine)
    events = engine.set_quote("AAPL", D("188.50"), D("188.90"), D("188.70"))
    assert _filled(events) == [2]
    engine.place(1, _order(3, lmt="100"), ACCOUNTS[0])
    engine.global_cancel()
    assert_indexes_fresh(engine)
    assert engine.set_quote("AAPL", D("90"), D("90.10"), D("90")) == []


def test_many_resting_orders_when_quote_moves_then_exactly_crossing_ones_fill_in_order() -> None:
    engine = _engine()
    rnd = random.Random(8)
    limits = {oid: D(rnd.randint(1800, 1899)) / 10 for oid in range(1, 401)}
    for oid, limit in limits.items():
        side = "BUY" if oid % 2 else "SELL"
        price = limit if side == "BUY" else limit + 20  # sells rest above the ask
        assert _filled(engine.place(1, _order(oid, action=side, lmt=str(price)), ACCOUNTS[0])) == []
    events = engine.set_quote("AAPL", D("184.80"), D("185.00"), D("184.90"))
    expected = [oid for oid, limit in limits.items() if oid % 2 and limit >= D("185.00")]
    assert expected and _filled(events) == expected
    assert_indexes_fresh(engine)
    events = engine.set_quote("AAPL", D("204.00"), D("204.10"), D("204.05"))
    expected = [oid for oid, limit in limits.items() if oid % 2 == 0 and limit + 20 <= D("204")]
    assert expected and _filled(events) == expected
    assert_indexes_fresh(engine)


def test_random_operations_when_applied_then_indexes_never_go_stale() -> None:
    engine = _engine()
    rnd = random.Random(20260125)
    next_id = {1: 0, 2: 0}
    known: list[tuple[int, int]] = []
    bases = {"AAPL": 190, "MSFT": 410, "XYZ": 100}
    for _ in range(1500):
        roll = rnd.random()
        if roll < 0.6:
            client = rnd.choice((1, 2))
            if known and rnd.random() < 0.25:
                client, oid = rnd.choice(known)  # modify (or a refused reuse of a done id)
            else:
                next_id[client] += 1
                oid = next_id[client]
            symbol = rnd.choice(("AAPL", "AAPL", "MSFT", "XYZ"))

            def price(sym: str = symbol) -> str:
                return str(D(bases[sym]) + D(rnd.randint(-30, 30)) / 10)

            order_type = rnd.choice(("MKT", "LMT", "LMT", "STP", "STP LMT"))
            mine = [o for c, o in known if c == client and o != oid]
            parent = rnd.choice(mine) if mine and rnd.random() < 0.35 else 0
            p = _order(
                oid,
                order_type,
                rnd.choice(("BUY", "SELL")),
                lmt=price() if "LMT" in order_type else "",
                aux=price() if "STP" in order_type else "",
                symbol=symbol,
                parent=parent,
                oca=rnd.choice(("", "", "g1", "g2")),
                transmit=rnd.random() < 0.7,
                account=rnd.choice(ACCOUNTS),
            )
            engine.place(client, p, ACCOUNTS[0])
            if (client, oid) in engine.orders and (client, oid) not in known:
                known.append((client, oid))
        elif roll < 0.72 and known:
            engine.cancel(*rnd.choice(known))
        elif roll < 0.73:
            engine.global_cancel()
        else:
            symbol = rnd.choice(("AAPL", "MSFT", "XYZ"))
            mid = D(bases[symbol]) + D(rnd.randint(-30, 30)) / 10
            last = mid + D(rnd.randint(-2, 2)) / 10
            engine.set_quote(symbol, mid - D("0.1"), mid + D("0.1"), last)
        assert_indexes_fresh(engine)
    statuses = {o.status for o in engine.orders.values()}
    assert {"Filled", "Cancelled", "Submitted", "PreSubmitted"} <= statuses
