"""Position, exposure and margin limits with the broker's holdings from the simulator."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

from prometheus_client import REGISTRY

from livegate_api.v1 import policy_pb2
from tests.policy.harness import FakeClock, new_key
from tests.risk.conftest import MakeStack
from tests.risk.flows import SELL, Outcome, approve, limit, preview, stock, submit, submit_approved
from tests.support.stack import Replica, Stack
from tests.support.writers import ACCOUNT

AAPL_NET_100 = {"symbol": "AAPL", "sec_type": "STOCK", "max_net_position": "100"}
MSFT_GROSS_50 = {"symbol": "MSFT", "sec_type": "STOCK", "max_gross_position": "50"}


def test_submit_when_position_plus_working_orders_reach_the_bound_then_one_more_refused(
    make_stack: MakeStack, db_url: str
) -> None:
    stack = make_stack(db_url=db_url, instruments=[AAPL_NET_100, MSFT_GROSS_50])
    stack.sim.set_position(ACCOUNT, "AAPL", Decimal(40), Decimal("150"))
    stack.sim.set_position(ACCOUNT, "MSFT", Decimal(20), Decimal("400"))
    under = submit(stack, limit("30", "189.00"))  # 40 held + 30 = 70
    at = submit(stack, limit("30", "189.00"))  # 100: the bound
    over = submit(stack, limit("1", "189.00"))  # 101
    assert under.order is not None and at.order is not None
    assert (over.reason, over.step) == ("POSITION_LIMIT_EXCEEDED", "9") and over.meta is not None
    assert {k: over.meta[k] for k in ("position", "working_buy", "quantity", "projected_net")} == {
        "position": "40", "working_buy": "60", "quantity": "1", "projected_net": "101",
    }  # fmt: skip
    assert use("max_net_position") == 1.01  # the refused one's use, in the metrics
    # Selling 50 only lowers the worst case (100 long): it passes at the bound.
    assert submit(stack, limit("50", "189.50", action=SELL)).order is not None

    assert submit(stack, limit("20", "409.00", stock("MSFT"))).order is not None  # gross 40
    gross = submit(stack, limit("11", "409.00", stock("MSFT")))  # 20 + 20 + 11 = 51
    assert gross.reason == "GROSS_POSITION_EXCEEDED" and gross.meta is not None
    assert (gross.meta["projected_gross"], gross.meta["max_gross_position"]) == ("51", "50")
    assert submit(stack, limit("10", "409.00", stock("MSFT"))).order is not None  # 50: at it
    assert use("max_gross_position") == 1.0


def test_submit_when_account_state_read_before_a_cancel_then_counted_until_read_again(
    make_stack: MakeStack, db_url: str
) -> None:
    """A cached account state is trusted with no fill of an order that ended after it was
    read: the order still counts until the state is read again; an old state is refused."""
    clock = FakeClock()
    stack = make_stack(db_url=db_url, clock=clock, instruments=[AAPL_NET_100],
                       limits={"max_account_state_age_s": "1"})  # fmt: skip
    stack.sim.set_position(ACCOUNT, "AAPL", Decimal(40), Decimal("150"))
    placed = submit(stack, limit("60", "189.00")).order
    assert placed is not None
    stack.policy.upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=placed.broker_order_id, idempotency_key=new_key()
        ),
        timeout=15,
    )
    assert submit(stack, limit("60", "189.00")).reason == "POSITION_LIMIT_EXCEEDED"
    time.sleep(1.1)  # the writer's clock is the wall clock: the state must really be newer
    assert submit(stack, limit("60", "189.00")).order is not None
    clock.advance(2)  # the writer's answer is now older than the policy allows
    stale = submit(stack, limit("1", "189.00"))
    assert (stale.reason, stale.step) == ("REFERENCE_DATA_STALE", "9") and stale.meta is not None
    assert (stale.meta["data"], stale.meta["max_age_s"]) == ("account_state", "1")


def test_submit_when_account_exposure_reaches_its_bound_then_one_more_refused(
    make_stack: MakeStack, db_url: str
) -> None:
    # SPY 10 held at last 500.05: 5000.50 of gross position value; each order 499.00.
    stack = make_stack(db_url=db_url, limits={"max_gross_exposure": "5998.50"})
    stack.sim.set_position(ACCOUNT, "SPY", Decimal(10), Decimal("480"))
    outcomes = [submit(stack, limit("1", "499.00", stock("SPY"))) for _ in range(3)]
    assert [o.reason for o in outcomes] == ["", "", "EXPOSURE_LIMIT_EXCEEDED"]
    meta = outcomes[2].meta
    assert meta is not None
    assert use("max_gross_exposure") == 6497.50 / 5998.50
    assert (meta["gross_position_value"], meta["working_notional"], meta["exposure"]) == (
        "5000.5", "998.00", "6497.50",
    )  # fmt: skip


def test_submit_when_excess_liquidity_after_is_at_the_floor_then_passes_and_under_refused(
    make_stack: MakeStack, db_url: str
) -> None:
    # Cash 100,000, nothing held: the what-if of N AAPL leaves 99,999.00 equity (one dollar of
    # commission) less N x 189.25 x 25% maintenance. N = 100 leaves 95,267.75.
    stack = make_stack(db_url=db_url, limits={"min_excess_liquidity": "95267.75"})
    results = {qty: submit(stack, limit(qty, "189.00")) for qty in ("99", "100", "101")}
    assert [results[q].reason for q in ("99", "100")] == ["", ""]
    over = results["101"]
    assert (over.reason, over.step) == ("MARGIN_INSUFFICIENT", "9") and over.meta is not None
    assert (over.meta["excess_liquidity_after"], over.meta["min_excess_liquidity"]) == (
        "95220.44", "95267.75",
    )  # fmt: skip
    assert over.preview is not None and over.preview.margin.excess_liquidity_after == "95220.44"
    assert use("min_excess_liquidity") == 95267.75 / 95220.44  # a floor: bound / value


def test_submit_when_two_replicas_race_past_a_position_limit_then_exactly_one_refused(
    make_stack: MakeStack, pg_url: str
) -> None:
    stack = make_stack(db_url=pg_url, replicas=2, instruments=[AAPL_NET_100])
    stack.sim.set_position(ACCOUNT, "AAPL", Decimal(40), Decimal("150"))
    a, b = stack.replicas
    for qty_a, qty_b in (("40", "40"), ("10", "11")):  # 80 then 120; 90 then 101
        ready = [preview(stack, limit(q, "189.00"), r) for q, r in ((qty_a, a), (qty_b, b))]
        approvals = [approve(stack, p.preview_id, r) for p, r in zip(ready, (a, b), strict=True)]
        results = race(stack, list(zip(ready, approvals, (a, b), strict=True)))
        assert sorted(r.reason for r in results) == ["", "POSITION_LIMIT_EXCEEDED"], results
    working = [o for o in stack.sim.working_orders() if o.symbol == "AAPL"]
    assert sum(o.total_quantity for o in working) <= 60  # never past 100 with the 40 held


def race(stack: Stack, submits: list[tuple[Any, str, Replica]]) -> list[Outcome]:
    """Submit each (preview, approval id, replica) at once, from its own thread."""
    barrier = threading.Barrier(len(submits))
    results: list[Outcome] = []

    def go(p: Any, approval_id: str, replica: Replica) -> None:
        barrier.wait(5)
        results.append(submit_approved(stack, p, approval_id, replica))

    threads = [threading.Thread(target=go, args=item) for item in submits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def use(limit: str) -> float | None:
    """livegate_limit_use_ratio{limit=LIMIT}: the last checked write's use of that limit."""
    return REGISTRY.get_sample_value("livegate_limit_use_ratio", {"limit": limit})
