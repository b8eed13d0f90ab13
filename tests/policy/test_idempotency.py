"""One idempotency key, at most one broker order: replays, duplicates, lost answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from livegate_common.deadlines import min_writer_deadline_s
from tests.policy.conftest import MakePolicy
from tests.policy.fake_writer import FAKE_BROKER_TIMEOUT_S, start_fake_writer
from tests.policy.harness import Harness, new_key, reason_of
from tests.support.net import wait_until


def test_submit_when_same_key_repeated_then_recorded_outcome_replayed(policy: Harness) -> None:
    pid, aid = policy.approved()
    key = new_key()
    first = policy.submit(pid, aid, key=key)
    again = policy.submit(pid, aid, key=key)
    assert again.replayed and not first.replayed
    assert again.order.broker_order_id == first.order.broker_order_id
    assert len(policy.writer.servicer.calls("SubmitOrder")) == 1


def test_submit_when_fifty_concurrent_duplicates_then_one_writer_call(policy: Harness) -> None:
    pid, aid = policy.approved()
    key = new_key()

    def attempt(_: int) -> str:
        try:
            policy.submit(pid, aid, key=key)
            return "ok"
        except grpc.RpcError as err:
            return reason_of(err)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(50)))
    assert len(policy.writer.servicer.calls("SubmitOrder")) == 1
    assert set(results) <= {"ok", "IDEMPOTENCY_IN_PROGRESS"}
    assert "ok" in results
    assert policy.count("idempotency_records") == 1


def test_submit_when_answer_lost_to_deadline_then_retry_settles_without_resubmitting(
    make_policy: MakePolicy,
) -> None:
    h = make_policy()
    pid, aid = h.approved()
    key = new_key()
    # Longer than the writer deadline derived from the fake's broker timeout.
    h.writer.servicer.state.submit_delay_s = min_writer_deadline_s(FAKE_BROKER_TIMEOUT_S) + 0.5
    with pytest.raises(grpc.RpcError) as caught:
        h.submit(pid, aid, key=key)
    assert reason_of(caught.value) == "WRITER_OUTCOME_UNKNOWN"
    assert h.rows("idempotency_records")[0]["status"] == "UNKNOWN"
    h.writer.servicer.state.submit_delay_s = 0
    settled = h.submit(pid, aid, key=key)
    assert settled.replayed and settled.order.order_ref == key
    # The retry asks the writer to settle (read the broker back by orderRef), not to place.
    assert [c.settle for c in h.writer.servicer.calls("SubmitOrder")] == [False, True]
    assert len(h.writer.servicer.state.orders) == 1
    assert h.rows("approvals")[0]["consumed_at_us"] is not None


def test_submit_when_lost_call_never_reached_broker_then_retry_places_once(
    make_policy: MakePolicy,
) -> None:
    h = make_policy()
    pid, aid = h.approved()
    key = new_key()
    h.writer.stop()
    with pytest.raises(grpc.RpcError):
        h.submit(pid, aid, key=key)
    restarted = start_fake_writer(h.pki, h.writer.port)
    try:
        # A restarted writer starts closed until the policy's sync loop opens it.
        state = restarted.servicer.state
        assert wait_until(lambda: state.kill_switch == common_pb2.KILL_SWITCH_STATE_OPEN, 10)
        answers: list[policy_pb2.SubmitOrderResponse] = []

        def retried() -> bool:
            # The channel reconnects with backoff; a client retries the same key until then.
            try:
                answers.append(h.submit(pid, aid, key=key))
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE
                return False
            return True

        assert wait_until(retried, timeout_s=15, interval_s=0.2)
        assert answers[0].order.order_ref == key
        assert [c.settle for c in restarted.servicer.calls("SubmitOrder")] == [True]
        assert len(restarted.servicer.state.orders) == 1
    finally:
        restarted.stop()


def test_submit_when_pending_row_fresh_then_in_progress(policy: Harness) -> None:
    pid, aid = policy.approved()
    key = new_key()
    policy.writer.servicer.state.submit_delay_s = 1.0
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(policy.submit, pid, aid, key)
        assert wait_until(lambda: policy.count("idempotency_records") == 1, 5)
        with pytest.raises(grpc.RpcError) as caught:
            policy.submit(pid, aid, key=key)
        assert caught.value.code() == grpc.StatusCode.ABORTED
        assert reason_of(caught.value) == "IDEMPOTENCY_IN_PROGRESS"
        assert slow.result(timeout=10).order.order_ref == key
