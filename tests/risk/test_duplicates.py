"""Suspected duplicates and the order efficiency ratio, with their edges and a replica race."""

from __future__ import annotations

from livegate_api.v1 import policy_pb2
from tests.policy.harness import new_key
from tests.risk.conftest import MakeStack
from tests.risk.flows import approve, limit, preview, submit, submit_approved
from tests.risk.test_positions import race
from tests.risk.test_sessions import PinnedClock, _next_minute_after
from tests.support.writers import ACCOUNT

WINDOW_US = 10_000_000


def test_submit_when_same_order_again_within_the_window_then_suspected_duplicate(
    make_stack: MakeStack, db_url: str
) -> None:
    start = _next_minute_after(5)
    clock = PinnedClock(start)
    window = {"duplicate_window_s": "10", "max_reference_age_s": "600"}
    stack = make_stack(db_url=db_url, clock=clock, limits=window)
    first = submit(stack, limit("5", "189.00"))
    assert first.order is not None
    for offset_us in (WINDOW_US - 1, WINDOW_US):  # just under the window, and at it
        clock.at_us = start + offset_us
        again = submit(stack, limit("5", "189.00"))
        assert (again.reason, again.step) == ("DUPLICATE_ORDER_SUSPECTED", "9")
        assert again.meta is not None and again.meta["window_s"] == "10"
    after = start + WINDOW_US + 1  # just over: the first one no longer counts
    clock.at_us = after
    assert submit(stack, limit("5", "189.00")).order is not None
    assert submit(stack, limit("6", "189.00")).order is not None  # another quantity: not a twin
    assert submit(stack, limit("5", "189.00"), intended_duplicate=True).order is not None
    clock.at_us = after + WINDOW_US + 1  # past the window of the last two too
    assert submit(stack, limit("5", "189.00")).order is not None


def test_submit_when_two_replicas_race_the_same_order_then_exactly_one_refused(
    make_stack: MakeStack, pg_url: str
) -> None:
    stack = make_stack(db_url=pg_url, replicas=2, limits={"duplicate_window_s": "10"})
    a, b = stack.replicas
    for round_no in range(2):
        qty = str(10 + round_no)
        ready = [(preview(stack, limit(qty, "189.00"), r), r) for r in (a, b)]
        submits = [(p, approve(stack, p.preview_id, r), r) for p, r in ready]
        results = race(stack, submits)
        assert sorted(r.reason for r in results) == ["", "DUPLICATE_ORDER_SUSPECTED"], results


def test_submit_when_order_efficiency_ratio_reaches_the_ceiling_then_new_orders_refused(
    make_stack: MakeStack, db_url: str
) -> None:
    stack = make_stack(db_url=db_url,
                       limits={"max_order_efficiency_ratio": "2", "oer_min_orders": 1})  # fmt: skip
    filled = submit(stack, limit("1", "190.00"))  # above the ask: fills at once (1 message)
    assert filled.order is not None
    stack.policy.service.fills.run()  # the fill is recorded: 1 executed order
    at = submit(stack, limit("1", "189.00"))  # 2 messages / 1 executed = 2: the ceiling
    over = submit(stack, limit("1", "189.00"))  # 3 / 1
    assert at.order is not None
    assert (over.reason, over.step) == ("ORDER_EFFICIENCY_RATIO_EXCEEDED", "9")
    assert over.meta is not None and (over.meta["ratio"], over.meta["executed_today"]) == (
        "3.00",
        "1",
    )
    # Only new orders are refused: a cancel still goes out (and counts).
    stack.policy.upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=at.order.broker_order_id, idempotency_key=new_key()
        ),
        timeout=15,
    )
    p = preview(stack, limit("1", "189.00"))
    after = submit_approved(stack, p, approve(stack, p.preview_id))
    assert after.meta is not None and after.meta["messages_today"] == "4"  # 2 + the cancel + 1
