"""IB's codes through the real policy, the real writer and the simulator: the broker decides.

Each case scripts what a real gateway sends about one order (before or after it accepts it),
submits through the policy, and checks the answer, the messages carried, the key, the approval
and the broker's orders; then the same approval is tried again under a new key, which must buy
a second order only when the broker holds nothing from the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import grpc
import pytest

from gateway_sim import CancelScript, Msg, OrderScript
from tests.broker_truth.flows import Desk
from tests.policy.harness import new_key

pytestmark = pytest.mark.timeout(60)
OK = grpc.StatusCode.OK
REFUSED = grpc.StatusCode.FAILED_PRECONDITION


@dataclass(frozen=True)
class SubmitCase:
    script: OrderScript
    code: grpc.StatusCode
    reason: str
    said: list[int]
    key: str
    approval: str
    orders: int
    status: str = ""
    filled: str = "0"
    qty: str = "3"
    extra: dict[str, str] = field(default_factory=dict)


SUBMITS = {
    "2109 warning before the ack, order works": SubmitCase(
        OrderScript(before_ack=(Msg(2109),)), OK, "", [2109], "SUCCEEDED", "consumed", 1,
        "Submitted",
    ),
    "2137 cross-side warning before the ack": SubmitCase(
        OrderScript(before_ack=(Msg(2137),)), OK, "", [2137], "SUCCEEDED", "consumed", 1,
        "Submitted",
    ),
    "399 order message before the ack": SubmitCase(
        OrderScript(before_ack=(Msg(399),)), OK, "", [399], "SUCCEEDED", "consumed", 1,
        "Submitted",
    ),
    "404 held while shares are located": SubmitCase(
        OrderScript(before_ack=(Msg(404),), outcome="hold"), OK, "", [404], "SUCCEEDED",
        "consumed", 1, "PreSubmitted",
    ),
    "10167 after the ack": SubmitCase(
        OrderScript(after_ack=(Msg(10167),)), OK, "", [10167], "SUCCEEDED", "consumed", 1,
        "Submitted",
    ),
    "202 false cancel, the order works on": SubmitCase(
        OrderScript(outcome="false_cancel", after_ack=(Msg(202),)), OK, "", [202], "SUCCEEDED",
        "consumed", 1, "Submitted",
    ),
    "201 with the order kept working": SubmitCase(
        OrderScript(before_ack=(Msg(201, "Order rejected - reason:under review"),)), OK, "",
        [201], "SUCCEEDED", "consumed", 1, "Submitted",
    ),
    "partial fill at once": SubmitCase(
        OrderScript(fill=Decimal(1)), OK, "", [], "SUCCEEDED", "consumed", 1, "Submitted", "1",
    ),
    "no answer at all, the order rests": SubmitCase(
        OrderScript(outcome="silent"), OK, "", [], "SUCCEEDED", "consumed", 1, "Submitted",
    ),
    "201 rejected, the broker keeps nothing": SubmitCase(
        OrderScript(before_ack=(Msg(201),), outcome="reject"), REFUSED, "BROKER_REJECTED",
        [201], "REFUSED", "free", 0, extra={"broker_error_code": "201"},
    ),
    "321 read-only refusal of the placement": SubmitCase(
        OrderScript(before_ack=(Msg(321),), outcome="reject"), REFUSED, "BROKER_REJECTED",
        [321], "REFUSED", "free", 0, extra={"broker_error_code": "321"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", SUBMITS.values(), ids=SUBMITS.keys())
def test_submit_when_broker_says_code_then_broker_truth_decides_and_approval_buys_one_order(
    desk: Desk, case: SubmitCase
) -> None:
    preview_id, approval_id = desk.approved(qty=case.qty)
    key = new_key()
    desk.sim.script_orders(case.script, order_ref=key)

    first = desk.submit(preview_id, approval_id, key)

    assert (first.code, first.reason) == (case.code, case.reason), first
    assert first.message_codes() == case.said
    assert case.extra.items() <= first.metadata.items()
    if first.ok:
        assert first.response.order.status == case.status
        assert first.response.order.filled == case.filled
    assert desk.key_state(key) == case.key
    assert desk.approval_state(approval_id) == case.approval
    assert len(desk.broker_orders(key)) == case.orders
    # The broker's words are in the audit event of the decision too.
    assert [m["code"] for m in desk.event_messages(key)] == case.said

    again_key = new_key()
    again = desk.submit(preview_id, approval_id, again_key)
    if case.approval == "consumed":
        assert again.reason == "APPROVAL_CONSUMED", again
        assert desk.broker_orders(again_key) == []
    else:
        assert again.ok, again
        assert len(desk.working(again_key)) == 1
    assert len(desk.working(key)) + len(desk.working(again_key)) <= 1 + (case.orders == 1)


def test_submit_when_false_cancel_then_fill_then_one_filled_order_and_approval_spent(
    desk: Desk,
) -> None:
    preview_id, approval_id = desk.approved(qty="2")
    key = new_key()
    desk.sim.script_orders(
        OrderScript(outcome="false_cancel", after_ack=(Msg(202),)), order_ref=key
    )
    first = desk.submit(preview_id, approval_id, key)
    assert first.ok and first.response.order.status == "Submitted"
    desk.sim.fill(order_ref=key, quantity=Decimal(2))
    assert [o.status for o in desk.broker_orders(key)] == ["Filled"]
    assert desk.submit(preview_id, approval_id, new_key()).reason == "APPROVAL_CONSUMED"


@dataclass(frozen=True)
class CancelCase:
    script: CancelScript | None
    code: grpc.StatusCode
    reason: str
    said: list[int]
    broker_status: str
    answer_status: str


CANCELS = {
    "202 cancelled as asked": CancelCase(None, OK, "", [202], "Cancelled", "Cancelled"),
    "10147 answered, the order works on": CancelCase(
        CancelScript(messages=(Msg(10147),), outcome="ignore"), REFUSED, "CANCEL_NOT_CONFIRMED",
        [10147], "Submitted", "Submitted",
    ),
    "no answer, the order works on": CancelCase(
        CancelScript(outcome="ignore"), REFUSED, "CANCEL_NOT_CONFIRMED", [], "Submitted",
        "Submitted",
    ),
    "10148 filled instead": CancelCase(
        CancelScript(outcome="fill_instead"), REFUSED, "ORDER_FILLED_BEFORE_CANCEL", [10148],
        "Filled", "Filled",
    ),
    "202 false cancel, then it fills": CancelCase(
        CancelScript(outcome="false_cancel"), REFUSED, "ORDER_FILLED_BEFORE_CANCEL", [202],
        "Filled", "Filled",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CANCELS.values(), ids=CANCELS.keys())
def test_cancel_when_broker_answers_code_then_success_only_when_broker_shows_it_cancelled(
    desk: Desk, case: CancelCase
) -> None:
    key = new_key()
    placed = desk.submit(*desk.approved(), key)
    assert placed.ok
    if case.script is not None:
        desk.sim.script_cancels(case.script)
    cancel_key = new_key()

    answer = desk.cancel(placed.response.order.broker_order_id, cancel_key)

    assert (answer.code, answer.reason) == (case.code, case.reason), answer
    assert answer.message_codes() == case.said
    status = answer.response.order.status if answer.ok else answer.metadata["status"]
    assert status == case.answer_status
    assert [o.status for o in desk.broker_orders(key)] == [case.broker_status]
    assert desk.key_state(cancel_key) == ("SUCCEEDED" if answer.ok else "REFUSED")


def test_modify_when_broker_refuses_with_321_then_old_values_kept_and_modify_approval_released(
    desk: Desk,
) -> None:
    placed = desk.submit(*desk.approved(), new_key())
    order_id = placed.response.order.broker_order_id
    desk.sim.script_modifies(OrderScript(before_ack=(Msg(321),), outcome="reject"))

    answer = desk.modify(order_id, limit_price="188.90")

    assert (answer.code, answer.reason) == (REFUSED, "BROKER_REJECTED"), answer
    assert answer.message_codes() == [321]
    assert answer.metadata["operation"] == "modify"
    assert desk.approval_state(answer.metadata["approval_id"]) == "free"
    [held] = [o for o in desk.sim.orders() if o.order_id == order_id]
    assert (str(held.lmt_price), held.status) == ("189.00", "Submitted")


def test_modify_when_warning_comes_with_new_values_then_success_with_the_message(
    desk: Desk,
) -> None:
    placed = desk.submit(*desk.approved(), new_key())
    order_id = placed.response.order.broker_order_id
    desk.sim.script_modifies(OrderScript(before_ack=(Msg(2109),)))

    answer = desk.modify(order_id, limit_price="188.90")

    assert answer.ok, answer
    assert answer.message_codes() == [2109]
    assert answer.response.order.order.limit_price == "188.9"
    assert desk.approval_state(answer.metadata["approval_id"]) == "consumed"
