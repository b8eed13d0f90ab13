"""Scoped REDUCING over the whole stack (simulator holding the positions, OpenBao, the real
writer; SQLite, and two replicas on PostgreSQL): in a REDUCING scope only cancels and orders
that bring the account's position nearer zero reach the broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.e2e.test_scoped_stops import (
    ACCOUNT_KIND,
    CLOSED,
    OPEN,
    OVERRIDES,
    PRINCIPAL_KIND,
    STRATEGY_KIND,
    A,
    B,
    MakeStack,
    _events,
    _refused,
    _rid,
    _set,
    _stub,
    make_stack,  # noqa: F401 - the fixture
)
from tests.policy.attacker import Attacker
from tests.policy.conftest import pg, pg_url  # noqa: F401 - the PostgreSQL fixtures
from tests.policy.harness import meta_of, new_key, order_msg, reason_of
from tests.support.stack import RESTING_BUY, Replica, Stack
from tests.writer.test_reducing_switch import sell_by_hand

REDUCING = common_pb2.KILL_SWITCH_STATE_REDUCING
SELL = common_pb2.ACTION_SELL
BUY = common_pb2.ACTION_BUY
# The simulator bids AAPL 189.20: a sell limit above it rests at the broker (stays working).
RESTING_SELL = "189.50"


@pytest.fixture(params=["sqlite", "postgres-two-replicas"])
def two_ways(request: pytest.FixtureRequest, make_stack: MakeStack) -> Iterator[Stack]:  # noqa: F811
    """One replica on SQLite; or two replicas sharing PostgreSQL, the operator on the first
    and the writes through the second (the tests use replicas[0] and replicas[-1])."""
    if request.param == "sqlite":
        yield make_stack()
    else:
        yield make_stack(db_url=request.getfixturevalue("pg_url"), replicas=2)


def _order(
    stack: Stack,
    action: int,
    qty: str,
    account: str = A,
    strategy: str = "",
    replica: Replica | None = None,
    upstream: Any = None,
) -> tuple[str, str]:
    r = replica or stack.policy
    limit = RESTING_SELL if action == SELL else RESTING_BUY
    preview = (upstream or r.upstream).CreateOrderPreview(
        policy_pb2.CreateOrderPreviewRequest(
            account_id=account, order=order_msg(qty, limit, action=action), strategy=strategy
        ),
        timeout=10,
    )
    approval = r.approver.ApprovePreview(
        policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id), timeout=10
    )
    return str(preview.preview_id), str(approval.approval_id)


def _write(
    stack: Stack,
    action: int,
    qty: str,
    account: str = A,
    strategy: str = "",
    replica: Replica | None = None,
    upstream: Any = None,
    rid: str = "",
) -> policy_pb2.SubmitOrderResponse:
    """Preview, approve and submit one AAPL order; the submit's response."""
    r = replica or stack.policy
    ids = _order(stack, action, qty, account, strategy, r, upstream)
    return (upstream or r.upstream).SubmitOrder(
        policy_pb2.SubmitOrderRequest(
            account_id=account, preview_id=ids[0], approval_id=ids[1],
            idempotency_key=new_key(), strategy=strategy,
        ),
        metadata=(("x-request-id", rid or _rid()),),
        timeout=15,
    )  # fmt: skip


def _at_broker(stack: Stack, broker_order_id: int) -> list[str]:
    return [o.status for o in stack.sim.orders() if o.order_id == broker_order_id]


def _long(stack: Stack, account: str = A, qty: int = 10) -> None:
    stack.sim.set_position(account, "AAPL", Decimal(qty), Decimal("150"))


def test_submit_when_account_reducing_then_only_sells_towards_flat_reach_the_broker(
    two_ways: Stack,
) -> None:
    stack = two_ways
    operator, writes = stack.replicas[0], stack.replicas[-1]
    _long(stack, A, 10)
    _long(stack, B, 0)
    rid = _rid()
    reduced = _set(operator.operator, ACCOUNT_KIND, A, REDUCING, "INC-11 unwind A", rid)
    assert (reduced.stop.state, reduced.stop.changed_by) == (REDUCING, "operator")

    first = _write(stack, SELL, "4", replica=writes).order.broker_order_id
    buy_rid = _rid()
    buy = _refused(lambda: _write(stack, BUY, "1", replica=writes, rid=buy_rid))
    flip = _refused(lambda: _write(stack, SELL, "11", replica=writes))
    together = _refused(lambda: _write(stack, SELL, "7", replica=writes))  # 4 working + 7 > 10
    second = _write(stack, SELL, "6", replica=writes).order.broker_order_id  # 4 + 6 = 10
    other = _write(stack, BUY, "1", account=B, replica=writes)  # B is not reducing

    assert _at_broker(stack, first) == ["Submitted"] and _at_broker(stack, second) == ["Submitted"]
    assert other.order.broker_order_id
    assert (buy.code(), reason_of(buy), meta_of(buy)["gate_step"]) == (
        grpc.StatusCode.FAILED_PRECONDITION, "SCOPE_REDUCING_INCREASES", "6",
    )  # fmt: skip
    assert "position=10, quantity=1, working=0" in (buy.details() or "")
    assert (reason_of(flip), meta_of(flip)["quantity"]) == ("SCOPE_REDUCING_CROSSES_ZERO", "11")
    assert reason_of(together) == "SCOPE_REDUCING_CROSSES_ZERO"
    assert {k: meta_of(together)[k] for k in ("position", "quantity", "working")} == {
        "position": "10", "quantity": "7", "working": "4",
    }  # fmt: skip
    [event] = [e for e in _events(stack, buy_rid) if e["outcome"] == "REFUSED"]
    assert (event["reason"], event["gate_step"]) == ("SCOPE_REDUCING_INCREASES", 6)
    [closed] = _events(stack, rid)
    assert (closed["principal"], closed["detail"]["scope_state"]) == ("operator", "REDUCING")
    assert closed["detail"]["reason"] == "INC-11 unwind A"
    writes.upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=A, broker_order_id=first, idempotency_key=new_key()
        ),
        timeout=15,
    )  # a cancel passes
    assert _at_broker(stack, first) == ["Cancelled"]
    status = writes.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    assert [(s.scope, s.state) for s in status.scoped_stops] == [(reduced.stop.scope, REDUCING)]


def test_submit_when_two_sells_that_together_cross_race_then_only_one_reaches_the_broker(
    two_ways: Stack,
) -> None:
    """Judged at the same moment neither sees the other at the broker; step 10 repeats the
    judgement under the account's lock, where the first's pending row counts (on PostgreSQL
    the two go through different replicas)."""
    stack = two_ways
    _long(stack, A, 10)
    _set(stack.replicas[0].operator, ACCOUNT_KIND, A, REDUCING)
    routes = [stack.replicas[0], stack.replicas[-1]]
    approved = [_order(stack, SELL, "6", replica=r) for r in routes]
    start = threading.Barrier(2)

    def sell(i: int) -> str:
        start.wait()
        try:
            routes[i].upstream.SubmitOrder(
                policy_pb2.SubmitOrderRequest(
                    account_id=A, preview_id=approved[i][0], approval_id=approved[i][1],
                    idempotency_key=new_key(),
                ),
                timeout=15,
            )  # fmt: skip
        except grpc.RpcError as err:
            return reason_of(err)
        return "PLACED"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(sell, range(2)))

    assert outcomes == ["PLACED", "SCOPE_REDUCING_CROSSES_ZERO"]
    assert len([o for o in stack.sim.orders() if o.order_ref]) == 1


def test_submit_when_account_reducing_and_a_hand_placed_sell_works_then_it_counts_as_filled(
    make_stack: MakeStack,  # noqa: F811
) -> None:
    """Long 100 with a sell of 60 placed by hand in TWS (another client id, no orderRef): a
    sell of 60 through livegate would flip the position if both fill (the writer's unexplained
    order trigger is off in these stacks, so the switch stays open)."""
    stack = make_stack()
    _long(stack, A, 100)
    sell_by_hand(stack.sim, "60", RESTING_SELL)
    _set(stack.policy.operator, ACCOUNT_KIND, A, REDUCING)

    crossed = _refused(lambda: _write(stack, SELL, "60"))
    fits = _write(stack, SELL, "40").order.order_ref

    assert (reason_of(crossed), meta_of(crossed)["gate_step"]) == (
        "SCOPE_REDUCING_CROSSES_ZERO", "6",
    )  # fmt: skip
    assert {k: meta_of(crossed)[k] for k in ("position", "quantity", "working")} == {
        "position": "100", "quantity": "60", "working": "60",
    }  # fmt: skip
    assert [(o.order_ref, o.status) for o in stack.sim.orders() if o.order_ref] == [
        (fits, "Submitted")
    ]


def test_bracket_when_account_reducing_then_refused_at_write_and_at_preview(
    make_stack: MakeStack,  # noqa: F811
) -> None:
    stack = make_stack()
    up, approver = stack.policy.upstream, stack.policy.approver
    _long(stack, A, 10)

    def bracket_preview() -> Any:
        return up.CreateBracketPreview(
            policy_pb2.CreateBracketPreviewRequest(
                account_id=A, action=SELL, quantity="1",
                instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
                entry_limit_price=RESTING_SELL, take_profit_price="188.00",
                stop_loss_price="190.00", time_in_force=common_pb2.TIME_IN_FORCE_DAY,
            ),
            timeout=10,
        )  # fmt: skip

    made = bracket_preview()
    legs = [made.parent, made.take_profit, made.stop_loss]
    approvals = [
        approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=p.preview_id), timeout=10
        ).approval_id
        for p in legs
    ]
    _set(stack.policy.operator, ACCOUNT_KIND, A, REDUCING)
    key = new_key()

    written = _refused(lambda: up.SubmitBracket(
        policy_pb2.SubmitBracketRequest(
            account_id=A, parent_preview_id=legs[0].preview_id,
            take_profit_preview_id=legs[1].preview_id, stop_loss_preview_id=legs[2].preview_id,
            parent_approval_id=approvals[0], take_profit_approval_id=approvals[1],
            stop_loss_approval_id=approvals[2], idempotency_key=key,
        ),
        timeout=15,
    ))  # fmt: skip
    previewed = _refused(bracket_preview)

    for err in (written, previewed):
        assert (reason_of(err), meta_of(err)["gate_step"]) == ("SCOPE_REDUCING_BRACKET", "6")
    assert stack.broker_orders_with_ref(key) == []


def test_submit_when_positions_stale_or_writer_stopped_then_refused_position_stale(
    make_stack: MakeStack,  # noqa: F811
) -> None:
    overrides = {"kill_switch.reducing_position_max_age_s": 0.000001}
    stack = make_stack(policy_overrides={**OVERRIDES, **overrides})
    _long(stack, A, 10)
    _set(stack.policy.operator, ACCOUNT_KIND, A, REDUCING)
    ids, later = _order(stack, SELL, "1"), _order(stack, SELL, "1")

    old = _refused(lambda: _submit(stack, ids))
    stack.writer.stop()
    gone = _refused(lambda: _submit(stack, later))

    assert (reason_of(old), meta_of(old)["gate_step"]) == ("SCOPE_REDUCING_POSITION_STALE", "6")
    assert meta_of(old)["max_age_s"] == "0.000001"
    assert reason_of(gone) == "SCOPE_REDUCING_POSITION_STALE"
    assert "unreadable" in meta_of(gone)["why"]
    assert [o for o in stack.sim.orders() if o.order_ref] == []


def test_submit_when_principal_or_strategy_reducing_then_their_writes_are_judged(
    make_stack: MakeStack,  # noqa: F811
) -> None:
    stack = make_stack()
    op, other = stack.policy.operator, _stub(stack, "operator2")
    _long(stack, A, 5)
    _set(op, PRINCIPAL_KIND, "upstream", REDUCING)
    _set(op, STRATEGY_KIND, "unwind", REDUCING)

    principal_buy = _refused(lambda: _write(stack, BUY, "1"))
    principal_sell = _write(stack, SELL, "2")
    other_buy = _write(stack, BUY, "1", upstream=other)  # another caller, untagged
    tagged_buy = _refused(lambda: _write(stack, BUY, "1", strategy="unwind", upstream=other))
    tagged_sell = _write(stack, SELL, "3", strategy="unwind", upstream=other)  # 2 + 3 = 5

    assert (reason_of(principal_buy), meta_of(principal_buy)["scope"]) == (
        "SCOPE_REDUCING_INCREASES", "upstream",
    )  # fmt: skip
    assert (reason_of(tagged_buy), meta_of(tagged_buy)["scope"]) == (
        "SCOPE_REDUCING_INCREASES", "unwind",
    )  # fmt: skip
    for placed in (principal_sell, other_buy, tagged_sell):
        assert _at_broker(stack, placed.order.broker_order_id) == ["Submitted"]


def test_open_when_scope_reducing_then_it_needs_the_guarded_reopen_and_a_second_operator(
    two_ways: Stack,
) -> None:
    stack = two_ways
    first, second = stack.replicas[0], stack.replicas[-1]
    _long(stack, A, 10)
    _set(first.operator, ACCOUNT_KIND, A, REDUCING)

    asked = _set(first.operator, ACCOUNT_KIND, A, OPEN, "INC-11 unwound")
    alone = _refused(lambda: _set(first.operator, ACCOUNT_KIND, A, OPEN))
    still = _refused(lambda: _write(stack, BUY, "1", replica=second))
    opened = _set(_stub(stack, "operator2", second), ACCOUNT_KIND, A, OPEN, "checked")

    assert (asked.stop.state, asked.stop.reopen_requested_by) == (REDUCING, "operator")
    assert asked.stop.reopen_target == OPEN
    assert reason_of(alone) == "REOPEN_SAME_OPERATOR"
    assert reason_of(still) == "SCOPE_REDUCING_INCREASES"
    assert (opened.stop.state, opened.stop.changed_by) == (OPEN, "operator2")
    assert _write(stack, BUY, "1", replica=second).order.broker_order_id


def test_reduce_when_scope_closed_then_guarded_and_confirmed_only_with_the_same_target(
    two_ways: Stack,
) -> None:
    stack = two_ways
    first, second = stack.replicas[0], stack.replicas[-1]
    _long(stack, A, 10)
    _set(first.operator, ACCOUNT_KIND, A, CLOSED)
    rid = _rid()

    asked = _set(first.operator, ACCOUNT_KIND, A, REDUCING, "only unwind", rid=rid)
    sell_while_closed = _refused(lambda: _write(stack, SELL, "1", replica=second))
    status = second.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    operator2 = _stub(stack, "operator2", second)
    mismatch = _refused(lambda: _set(operator2, ACCOUNT_KIND, A, OPEN))
    confirmed = _set(operator2, ACCOUNT_KIND, A, REDUCING, "checked")

    assert (asked.stop.state, asked.stop.reopen_target) == (CLOSED, REDUCING)
    assert reason_of(sell_while_closed) == "SCOPE_STOPPED_ACCOUNT"
    [listed] = status.scoped_stops
    assert (listed.state, listed.reopen_requested_by, listed.reopen_target) == (
        CLOSED, "operator", REDUCING,
    )  # fmt: skip
    assert (reason_of(mismatch), meta_of(mismatch)["pending_target"]) == (
        "REOPEN_TARGET_MISMATCH", "REDUCING",
    )  # fmt: skip
    assert (confirmed.stop.state, confirmed.stop.changed_by) == (REDUCING, "operator2")
    [event] = _events(stack, rid)
    assert (event["detail"]["reopen"], event["detail"]["target"]) == ("REQUESTED", "REDUCING")
    assert _write(stack, SELL, "1", replica=second).order.broker_order_id
    assert reason_of(_refused(lambda: _write(stack, BUY, "1", replica=second))) == (
        "SCOPE_REDUCING_INCREASES"
    )


def test_loosen_when_the_audit_chain_is_broken_then_refused_and_the_scopes_stay(
    make_stack: MakeStack,  # noqa: F811
) -> None:
    stack = make_stack()
    op = stack.policy.operator
    _set(op, STRATEGY_KIND, "unwind", REDUCING)
    _set(op, ACCOUNT_KIND, A, CLOSED)
    Attacker(stack.db_url).edit(2, "principal", "mallory")
    rid = _rid()

    to_reducing = _refused(lambda: _set(op, ACCOUNT_KIND, A, REDUCING, rid=rid))
    to_open = _refused(lambda: _set(op, STRATEGY_KIND, "unwind", OPEN))

    for err in (to_reducing, to_open):
        assert (reason_of(err), meta_of(err)["audit_problem"]) == (
            "REOPEN_AUDIT_UNVERIFIED", "AUDIT_LINK_MISMATCH",
        )  # fmt: skip
    status = op.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    assert sorted((s.kind, s.state, s.reopen_requested_by) for s in status.scoped_stops) == [
        (ACCOUNT_KIND, CLOSED, ""), (STRATEGY_KIND, REDUCING, ""),
    ]  # fmt: skip
    [event] = [e for e in _events(stack, rid) if e["outcome"] == "REFUSED"]
    assert event["reason"] == "REOPEN_AUDIT_UNVERIFIED"


def test_close_when_scope_reducing_with_a_reopen_pending_then_closed_at_once_and_cancelled(
    make_stack: MakeStack,  # noqa: F811
) -> None:
    stack = make_stack()
    op = stack.policy.operator
    _long(stack, A, 10)
    _set(op, ACCOUNT_KIND, A, REDUCING)
    _set(op, ACCOUNT_KIND, A, OPEN, "INC-11 unwound")  # requested only
    rid = _rid()

    closed = _set(_stub(stack, "operator2"), ACCOUNT_KIND, A, CLOSED, "worse", rid=rid)
    sell = _refused(lambda: _write(stack, SELL, "1"))
    # operator2's OPEN now is a request of its own, not a confirmation of the cancelled one.
    late = _set(_stub(stack, "operator2"), ACCOUNT_KIND, A, OPEN)

    assert (closed.stop.state, closed.stop.reopen_requested_by) == (CLOSED, "")
    [event] = _events(stack, rid)
    assert event["detail"]["reopen_cancelled_by_close"] == "operator"
    assert reason_of(sell) == "SCOPE_STOPPED_ACCOUNT"
    assert (late.stop.state, late.stop.reopen_requested_by) == (CLOSED, "operator2")


def test_submit_when_approved_before_open_to_reducing_then_refused_approval_revoked(
    make_stack: MakeStack,  # noqa: F811
) -> None:
    stack = make_stack()
    _long(stack, A, 10)
    before = _order(stack, SELL, "1")  # would reduce, but was approved for an OPEN scope

    reduced = _set(stack.policy.operator, ACCOUNT_KIND, A, REDUCING)
    err = _refused(lambda: _submit(stack, before))

    assert reduced.revoked_approvals == 1
    assert (reason_of(err), meta_of(err)["approval_id"]) == ("APPROVAL_REVOKED", before[1])
    assert _submit(stack, _order(stack, SELL, "1")).order.broker_order_id  # approved again


def test_modify_when_account_reducing_then_judged_on_its_new_quantity_without_itself(
    make_stack: MakeStack,  # noqa: F811
) -> None:
    stack = make_stack()
    up = stack.policy.upstream
    _long(stack, A, 10)
    working = _submit(stack, _order(stack, SELL, "4")).order.broker_order_id
    _set(stack.policy.operator, ACCOUNT_KIND, A, REDUCING)

    def modify(qty: str) -> Any:
        changes = common_pb2.OrderChanges(quantity=qty)
        preview = up.CreateModifyPreview(
            policy_pb2.CreateModifyPreviewRequest(
                account_id=A, broker_order_id=working, changes=changes
            ),
            timeout=10,
        )
        approval = stack.policy.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id), timeout=10
        )
        return up.ModifyOrder(
            policy_pb2.ModifyOrderRequest(
                account_id=A, broker_order_id=working, approval_id=approval.approval_id,
                preview_id=preview.preview_id, idempotency_key=new_key(), changes=changes,
            ),
            timeout=15,
        )  # fmt: skip

    over = _refused(lambda: modify("11"))
    modify("10")  # 10, not 4 + 10: the order modified is not counted as working too

    assert (reason_of(over), meta_of(over)["working"]) == ("SCOPE_REDUCING_CROSSES_ZERO", "0")
    [order] = [o for o in stack.sim.orders() if o.order_id == working]
    assert order.total_quantity == 10


def _submit(stack: Stack, ids: tuple[str, str]) -> policy_pb2.SubmitOrderResponse:
    return stack.policy.upstream.SubmitOrder(
        policy_pb2.SubmitOrderRequest(
            account_id=A, preview_id=ids[0], approval_id=ids[1], idempotency_key=new_key()
        ),
        timeout=15,
    )
