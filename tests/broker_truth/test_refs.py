"""Keys and bracket legs never meet, and an order counts as a request's only when it is it.

Leg refs are "<key>~tp" / "<key>~sl": "~" is not a key character, so no key spells one. And
whatever holds a key's ref at the broker counts as that key's order only when account, side,
quantity, instrument and price are the request's.
"""

from __future__ import annotations

import grpc
import pytest

from livegate_api.v1 import writer_pb2
from tests.broker_truth.flows import Desk
from tests.policy.harness import OTHER_ACCOUNT, new_key, order_msg
from tests.support.writers import ACCOUNT
from tests.writer.conftest import stub

pytestmark = pytest.mark.timeout(60)


def _bracket_at_broker(desk: Desk) -> str:
    """A bracket of ACCOUNT working at the broker; its key."""
    key = new_key()
    assert desk.bracket(*desk.bracket_approved(ACCOUNT), key).ok
    return key


def test_submit_when_key_spells_a_stop_loss_ref_for_another_account_then_its_own_order_placed(
    two_accounts: Desk,
) -> None:
    desk = two_accounts
    bracket_key = _bracket_at_broker(desk)
    key = f"{bracket_key}.sl"
    preview_id, approval_id = desk.approved(qty="3", account=OTHER_ACCOUNT)

    answer = desk.submit(preview_id, approval_id, key, account=OTHER_ACCOUNT)

    assert answer.ok, answer
    order = answer.response.order
    assert (order.account_id, order.order.quantity, order.order_ref) == (OTHER_ACCOUNT, "3", key)
    assert [(o.account, o.action) for o in desk.broker_orders(key)] == [(OTHER_ACCOUNT, "BUY")]
    assert desk.key_state(key) == "SUCCEEDED"
    legs = [o for o in desk.sim.orders() if o.order_ref.split("~")[0] == bracket_key]
    assert [o.account for o in legs] == [ACCOUNT] * 3


def test_submit_when_key_spells_a_take_profit_ref_in_the_same_account_then_placed_and_recorded(
    two_accounts: Desk,
) -> None:
    desk = two_accounts
    key = f"{_bracket_at_broker(desk)}.tp"
    preview_id, approval_id = desk.approved(qty="3")

    answer = desk.submit(preview_id, approval_id, key)

    assert answer.ok, answer
    assert answer.response.order.order.action == 1  # BUY, not the take-profit's SELL
    assert [o.total_quantity for o in desk.broker_orders(key)] == [3]
    assert (desk.key_state(key), desk.approval_state(approval_id)) == ("SUCCEEDED", "consumed")


def test_submit_when_key_at_broker_with_other_quantity_then_ref_mismatch_and_approval_freed(
    two_accounts: Desk,
) -> None:
    desk = two_accounts
    key = new_key()
    # An order carrying this key as its ref, placed around the policy (by hand, or recorded
    # in a policy database since restored): 5 shares where the request will be for 3.
    around = stub(desk.stack.pki, "policy", desk.stack.writer.port).SubmitOrder(
        writer_pb2.WriterSubmitOrderRequest(
            account_id=ACCOUNT, order=order_msg("5", "189.00"), idempotency_key=key
        ),
        timeout=10,
    )
    preview_id, approval_id = desk.approved(qty="3")

    answer = desk.submit(preview_id, approval_id, key)

    assert (answer.code, answer.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ORDER_REF_MISMATCH",
    )
    assert (desk.key_state(key), desk.approval_state(approval_id)) == ("REFUSED", "free")
    assert [o.order_id for o in desk.broker_orders(key)] == [around.order.broker_order_id]


def test_submit_when_key_at_broker_for_another_account_then_ref_mismatch_not_that_order(
    two_accounts: Desk,
) -> None:
    desk = two_accounts
    key = new_key()
    stub(desk.stack.pki, "policy", desk.stack.writer.port).SubmitOrder(
        writer_pb2.WriterSubmitOrderRequest(
            account_id=OTHER_ACCOUNT, order=order_msg("3", "189.00"), idempotency_key=key
        ),
        timeout=10,
    )
    preview_id, approval_id = desk.approved(qty="3")

    answer = desk.submit(preview_id, approval_id, key)

    assert answer.reason == "ORDER_REF_MISMATCH", answer
    assert desk.approval_state(approval_id) == "free"
    assert [o.account for o in desk.broker_orders(key)] == [OTHER_ACCOUNT]
