"""Two policy replicas on one PostgreSQL, the real writer and the simulator: one key, one order;
one approval, one order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from tests.broker_truth.flows import Desk
from tests.policy.harness import new_key

pytestmark = pytest.mark.timeout(90)


def test_submit_when_twenty_requests_share_a_key_across_replicas_then_one_broker_order(
    two_replicas: Desk,
) -> None:
    desk = two_replicas
    a, b = desk.stack.replicas
    preview_id, approval_id = desk.approved()
    key = new_key()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(
                lambda i: desk.submit(preview_id, approval_id, key, replica=(a, b)[i % 2]),
                range(20),
            )
        )

    outcomes = {(x.code, x.reason) for x in answers}
    assert (grpc.StatusCode.OK, "") in outcomes
    assert outcomes <= {
        (grpc.StatusCode.OK, ""),
        (grpc.StatusCode.ABORTED, "IDEMPOTENCY_IN_PROGRESS"),
    }
    [order] = desk.broker_orders(key)
    assert {x.response.order.broker_order_id for x in answers if x.ok} == {order.order_id}
    assert desk.approval_state(approval_id) == "consumed"


def test_submit_when_two_replicas_race_one_approval_then_one_broker_order(
    two_replicas: Desk,
) -> None:
    desk = two_replicas
    a, b = desk.stack.replicas
    for _ in range(3):
        approved = desk.approved(replica=a)
        keys = (new_key(), new_key())
        with ThreadPoolExecutor(max_workers=2) as pool:
            racing = [
                pool.submit(desk.submit, *approved, key, replica)
                for key, replica in zip(keys, (a, b), strict=True)
            ]
            answers = [f.result() for f in racing]
        assert sorted(x.reason for x in answers) == ["", "APPROVAL_CONSUMED"], answers
        assert sum(len(desk.broker_orders(k)) for k in keys) == 1
