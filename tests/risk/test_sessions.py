"""Trading sessions from the broker's contract details, and blackout windows, at their edges."""

from __future__ import annotations

import datetime as dt
import time

from gateway_sim.contracts import hours_text
from livegate_api.v1 import policy_pb2
from tests.policy.harness import new_key
from tests.risk.conftest import MakeStack
from tests.risk.flows import limit, stock, submit
from tests.support.writers import ACCOUNT

MIN_US = 60_000_000


class PinnedClock:
    """The policy's clock, set by the test to the microsecond (the edges are exact)."""

    def __init__(self, now_us: int):
        self.at_us = now_us

    def now_us(self) -> int:
        return self.at_us


def _next_minute_after(seconds: int) -> int:
    """A whole minute at least SECONDS ahead of the wall clock (the writer's quotes are real)."""
    ahead = int(time.time()) + seconds
    return (ahead // 60 + 1) * 60 * 1_000_000


def _utc(us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC)


def test_submit_when_at_the_edges_of_regular_and_extended_hours_then_each_side_holds(
    make_stack: MakeStack, db_url: str
) -> None:
    opens = _next_minute_after(60)  # regular hours [opens, closes), extended from an hour before
    closes = opens + MIN_US
    clock = PinnedClock(opens - 1)
    aapl = {"symbol": "AAPL", "sec_type": "STOCK", "allow_outside_rth": True}
    stack = make_stack(db_url=db_url, clock=clock, instruments=[aapl],
                       limits={"max_reference_age_s": "600"})  # fmt: skip
    zone = "US/Eastern"
    for symbol in ("AAPL", "SPY"):
        stack.sim.set_stock_details(
            symbol,
            time_zone=zone,
            trading_hours=hours_text([(_utc(opens - 60 * MIN_US), _utc(closes))], zone),
            liquid_hours=hours_text([(_utc(opens), _utc(closes))], zone),
        )

    early = submit(stack, limit("1", "189.00"))
    assert (early.reason, early.step) == ("OUTSIDE_REGULAR_HOURS", "9") and early.meta is not None
    assert early.meta["regular_opens_at"] == _utc(opens).isoformat(timespec="seconds")
    asked = submit(stack, limit("1", "189.00", outside_rth=True))
    assert asked.order is not None  # asked for, and the instrument's policy allows it
    [sent] = [o for o in stack.sim.orders() if o.order_id == asked.order.broker_order_id]
    assert sent.outside_rth
    spy = submit(stack, limit("1", "499.00", stock("SPY"), outside_rth=True))
    assert spy.meta is not None and spy.meta["outside_rth_allowed"] == "false"

    clock.at_us = opens
    assert submit(stack, limit("1", "189.00")).order is not None  # the first regular microsecond
    clock.at_us = closes - 1
    assert submit(stack, limit("1", "189.00")).order is not None
    clock.at_us = closes
    closed = submit(stack, limit("1", "189.00", outside_rth=True))
    assert (closed.reason, closed.meta and closed.meta["next_open"]) == ("MARKET_CLOSED", "none")


def test_submit_when_inside_a_blackout_window_then_refused_but_cancels_pass(
    make_stack: MakeStack, db_url: str
) -> None:
    starts = _next_minute_after(60)
    span = {"from": _utc(starts).isoformat(), "to": _utc(starts + MIN_US).isoformat()}
    window = {"name": "gateway-restart", "once": span}
    clock = PinnedClock(starts - 1)
    stack = make_stack(db_url=db_url, clock=clock, policy_overrides={"blackouts": [window]},
                       limits={"max_reference_age_s": "600"})  # fmt: skip
    resting = submit(stack, limit("1", "189.00")).order
    assert resting is not None
    clock.at_us = starts
    refused = submit(stack, limit("1", "189.00"))
    assert (refused.reason, refused.step) == ("BLACKOUT_WINDOW", "9") and refused.meta is not None
    assert refused.meta["ends_at"] == _utc(starts + MIN_US).isoformat(timespec="seconds")
    cancelled = stack.policy.upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=resting.broker_order_id, idempotency_key=new_key()
        ),
        timeout=15,
    )
    assert cancelled.order.status in ("Cancelled", "PendingCancel")
    clock.at_us = starts + MIN_US
    assert submit(stack, limit("1", "189.00")).order is not None
