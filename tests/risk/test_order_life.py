"""Fills in the audit trail, linked to their key, and the open-order accounting that follows them.

Real writer, simulator and policy; the fills pass and the open-orders check run only when a test
calls them (their intervals are set past the test), so each step is the one under test.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from gateway_sim.ledger import commission_for
from livegate_api.v1 import policy_pb2
from tests.risk.conftest import MakeStack
from tests.risk.flows import limit, submit
from tests.support.net import wait_until
from tests.support.stack import Stack
from tests.support.writers import ACCOUNT
from tests.writer.test_start import place_foreign_order
from writer_service.ib_session import IbSession

pytestmark = pytest.mark.timeout(120)
FILL, COMMISSION, STATUS = "OrderFill", "OrderCommission", "OrderStatus"
# Only the test runs the fills pass and the open-orders check.
MANUAL = {"writer.fills_check_s": 3600, "writer.open_orders_check_s": 3600}
AAPL_NET_100 = {"symbol": "AAPL", "sec_type": "STOCK", "max_net_position": "100"}


def _events(stack: Stack, **where: Any) -> list[policy_pb2.AuditEvent]:
    return list(
        stack.policy.operator.ListAuditEvents(
            policy_pb2.ListAuditEventsRequest(page_size=1000, **where), timeout=10
        ).events
    )


def _life(stack: Stack, method: str = FILL, **where: Any) -> list[policy_pb2.AuditEvent]:
    return [e for e in _events(stack, **where) if e.method == method]


def _open_ids(stack: Stack) -> set[int]:
    service = stack.policy.service
    return service.store.open_order_ids(service.gate.account_hash(ACCOUNT))


def _placed(stack: Stack, qty: str) -> tuple[str, int]:
    """A resting buy of QTY AAPL at 189.00 through the gate: its key and broker order id."""
    key = f"k-life-{time.monotonic_ns()}"
    outcome = submit(stack, limit(qty, "189.00"), key=key)
    assert outcome.order is not None, outcome.reason
    return key, outcome.order.broker_order_id


def _verified(stack: Stack) -> None:
    res = stack.policy.operator.VerifyAudit(policy_pb2.VerifyAuditRequest(), timeout=30)
    assert res.chain_state == policy_pb2.AUDIT_CHAIN_STATE_INTACT, res


def _run_until(stack: Stack, done: Any) -> None:
    """Run the fills pass until DONE holds (the writer hears the broker asynchronously)."""
    assert wait_until(lambda: (stack.policy.service.fills.run(), done())[1], timeout_s=15)


def test_fills_when_an_order_fills_in_two_parts_then_each_is_an_event_of_its_key_with_commission(
    make_stack: MakeStack, db_url: str
) -> None:
    stack = make_stack(db_url=db_url, policy_overrides=MANUAL)
    key, order_id = _placed(stack, "10")
    assert order_id in _open_ids(stack)

    stack.sim.fill(order_ref=key, quantity=Decimal(4), price=Decimal("189.00"))
    _run_until(stack, lambda: len(_life(stack, idempotency_key=key)) == 1)
    assert order_id in _open_ids(stack)  # 6 still working: still open
    stack.sim.fill(order_ref=key, quantity=Decimal(6), price=Decimal("188.50"))
    _run_until(stack, lambda: len(_life(stack, idempotency_key=key)) == 2)

    first, second = _life(stack, idempotency_key=key)
    submitted = _life(stack, "SubmitOrder", idempotency_key=key)[0]
    for event, qty, price, cum in ((first, 4, "189.00", "4"), (second, 6, "188.50", "10")):
        d = event.detail
        assert (event.broker_order_id, event.account_id_hash, event.principal) == (
            order_id, submitted.account_id_hash, "upstream",
        )  # fmt: skip
        assert (d["quantity"], Decimal(d["price"]), d["cum_quantity"], d["linked"]) == (
            str(qty), Decimal(price), cum, "true",
        )  # fmt: skip
        assert d["exec_id"] and ACCOUNT not in str(dict(d))
    assert (first.detail["complete"], second.detail["complete"]) == ("false", "true")
    assert order_id not in _open_ids(stack)  # the complete fill ended it, before any sync
    # The commission, in the fill's event or (reported after it) in an event of its own.
    _run_until(stack, lambda: _commissions(stack, key) == {
        first.detail["exec_id"]: commission_for(Decimal(4), Decimal("189.00")),
        second.detail["exec_id"]: commission_for(Decimal(6), Decimal("188.50")),
    })  # fmt: skip
    _verified(stack)


def _commissions(stack: Stack, key: str) -> dict[str, Decimal]:
    events = _life(stack, idempotency_key=key) + _life(stack, COMMISSION, idempotency_key=key)
    return {
        e.detail["exec_id"]: Decimal(e.detail["commission"])
        for e in events
        if e.detail["commission"]
    }


def test_fills_when_commission_is_reported_after_the_execution_then_a_second_event_carries_it(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(policy_overrides=MANUAL)
    key, _order_id = _placed(stack, "5")
    stack.sim.hold_commissions()
    stack.sim.fill(order_ref=key, quantity=Decimal(5))
    _run_until(stack, lambda: len(_life(stack, idempotency_key=key)) == 1)
    [fill] = _life(stack, idempotency_key=key)
    assert fill.detail["commission"] == ""

    stack.sim.release_commissions()
    _run_until(stack, lambda: len(_life(stack, COMMISSION, idempotency_key=key)) == 1)
    stack.policy.service.fills.run()  # once more: the commission is not recorded twice
    [late] = _life(stack, COMMISSION, idempotency_key=key)
    assert late.detail["exec_id"] == fill.detail["exec_id"]
    assert Decimal(late.detail["commission"]) == commission_for(Decimal(5), Decimal("189.00"))
    assert late.broker_order_id == fill.broker_order_id and late.event_id > fill.event_id
    _verified(stack)


def test_fills_when_partly_filled_then_only_the_rest_counts_toward_position_and_exposure(
    make_stack: MakeStack, db_url: str
) -> None:
    # Buy 60 resting, 20 of it filled: 20 held + 40 working. Another 40 reaches the net bound
    # of 100 and, at 189.00, 3785.00 + 7560 + 7560 = 18905 of gross exposure (bound 20000).
    # Counted whole, the first order would make those 120 and 22685: refused.
    stack = make_stack(
        db_url=db_url, policy_overrides=MANUAL, instruments=[AAPL_NET_100],
        limits={"max_account_state_age_s": "1", "max_gross_exposure": "20000"},
    )  # fmt: skip
    key, order_id = _placed(stack, "60")
    stack.sim.fill(order_ref=key, quantity=Decimal(20), price=Decimal("189.00"))
    account_hash = stack.policy.service.gate.account_hash(ACCOUNT)
    _run_until(stack, lambda: len(stack.policy.service.store.recent_fills(account_hash, 0)) == 1)
    time.sleep(1.1)  # the account state cached before the fill is read again

    assert submit(stack, limit("40", "189.00")).order is not None
    over = submit(stack, limit("1", "189.00"))  # 101: the filled part is held, not forgotten
    assert over.reason == "POSITION_LIMIT_EXCEEDED" and over.meta is not None
    assert (over.meta["position"], over.meta["working_buy"]) == ("20", "80")
    assert _open_ids(stack) >= {order_id}


def test_fills_when_an_order_livegate_did_not_place_fills_then_reported_and_linked_to_no_key(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(policy_overrides=MANUAL)
    place_foreign_order(stack.sim.port)
    assert wait_until(lambda: any(o.client_id == 99 for o in stack.sim.orders()))
    [hand] = [o for o in stack.sim.orders() if o.client_id == 99]
    before = _open_ids(stack)
    stack.sim.fill(order_id=hand.order_id, quantity=Decimal(3))

    _run_until(stack, lambda: len(_life(stack)) == 1)
    [event] = _life(stack)
    assert (event.idempotency_key, event.principal) == ("", "livegate-policy")
    assert (event.detail["linked"], event.detail["order_ref"]) == ("false", "")
    assert event.broker_order_id == hand.order_id and event.detail["quantity"] == "3"
    assert _open_ids(stack) == before
    _verified(stack)


def test_fills_when_two_replicas_read_them_at_once_and_one_restarts_then_each_is_stored_once(
    make_stack: MakeStack, pg_url: str
) -> None:
    stack = make_stack(db_url=pg_url, replicas=2, policy_overrides=MANUAL)
    keys = [_placed(stack, "2")[0] for _ in range(3)]
    for key in keys:
        stack.sim.fill(order_ref=key, quantity=Decimal(1))
        stack.sim.fill(order_ref=key, quantity=Decimal(1))
    assert wait_until(lambda: len(stack.sim.executions()) == 6)

    passes = [
        threading.Thread(target=replica.service.fills.run)
        for replica in stack.replicas
        for _ in range(3)
    ]
    for thread in passes:
        thread.start()
    for thread in passes:
        thread.join(timeout=60)
    _run_until(stack, lambda: len(_life(stack)) == 6)

    # A fill while no policy runs, then a restart: the new replica reads the day's executions
    # from the start again; the new fill is recorded, none of the others twice.
    second = _placed(stack, "1")[0]
    while stack.replicas:
        stack.replicas.pop().close()
    stack.sim.fill(order_ref=second, quantity=Decimal(1))
    stack.add_replica()
    _run_until(stack, lambda: len(_life(stack)) == 7)
    events = _life(stack)
    assert len({e.detail["exec_id"] for e in events}) == 7
    assert {e.idempotency_key for e in events} == {*keys, second}
    statuses = [(e.idempotency_key, e.detail["status"]) for e in _life(stack, STATUS)]
    assert sorted(statuses) == sorted((k, "Filled") for k in (*keys, second))
    _verified(stack)


def _statuses(stack: Stack, key: str) -> list[tuple[str, str, str]]:
    return [
        (e.detail["status"], e.detail["filled"], e.detail["previous_status"])
        for e in _life(stack, STATUS, idempotency_key=key)
    ]


def _cancel_all_outside_the_gate(port: int) -> None:
    """The broker-wide cancel from another client, as TWS's "cancel all" would send it."""
    other = IbSession(5)
    try:
        other.connect("127.0.0.1", port, 98, 5)

        async def cancel() -> None:
            other.ib.reqGlobalCancel()

        other.call(cancel())
    finally:
        other.stop()


def test_order_status_when_partly_filled_then_cancelled_elsewhere_then_each_change_is_an_event(
    make_stack: MakeStack, db_url: str
) -> None:
    stack = make_stack(db_url=db_url, policy_overrides=MANUAL)
    key, order_id = _placed(stack, "5")
    _run_until(stack, lambda: _statuses(stack, key) == [("Submitted", "0", "")])
    stack.policy.service.fills.run()  # unchanged: no second event

    stack.sim.fill(order_ref=key, quantity=Decimal(2))
    _run_until(stack, lambda: len(_statuses(stack, key)) == 2)
    assert order_id in _open_ids(stack)
    _cancel_all_outside_the_gate(stack.sim.port)
    assert wait_until(lambda: stack.broker_orders_with_ref(key)[0].status == "Cancelled")
    _run_until(stack, lambda: len(_statuses(stack, key)) == 3)

    assert _statuses(stack, key) == [
        ("Submitted", "0", ""), ("Submitted", "2", "Submitted"), ("Cancelled", "2", "Submitted"),
    ]  # fmt: skip
    event = _life(stack, STATUS, idempotency_key=key)[-1]
    # IB leaves what never filled as the cancelled order's remaining.
    assert (event.broker_order_id, event.principal, event.detail["remaining"]) == (
        order_id, "upstream", "3",
    )  # fmt: skip
    assert order_id not in _open_ids(stack)  # ended by its status, before any open-orders check
    _verified(stack)
