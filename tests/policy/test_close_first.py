"""A close goes first: writes arriving while it runs wait for it, then meet the closed switch."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

from livegate_api.v1 import common_pb2, policy_pb2
from livegate_common.close_first import CloseFirst
from tests.policy.harness import Harness, reason_of
from tests.support.net import wait_until

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED


def _close(h: Harness) -> policy_pb2.SetKillSwitchResponse:
    return h.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=CLOSED, reason="drill"), timeout=20
    )


def _operator_closes(h: Harness) -> list[object]:
    return [
        c
        for c in h.writer.servicer.calls("SetKillSwitch")
        if c.state == CLOSED and not c.resend  # type: ignore[attr-defined]
    ]


def _submit_reason(h: Harness, pair: tuple[str, str]) -> str:
    try:
        h.submit(*pair)
    except grpc.RpcError as err:
        return reason_of(err)
    return "SUBMITTED"


def test_submit_when_a_close_is_in_progress_then_it_waits_for_the_close_and_is_refused(
    policy: Harness,
) -> None:
    pair = policy.approved()
    hold = threading.Event()
    policy.writer.servicer.state.close_hold = hold  # the close stays at the writer until set
    with ThreadPoolExecutor(max_workers=2) as pool:
        closing = pool.submit(_close, policy)
        assert wait_until(lambda: bool(_operator_closes(policy)), 5, 0.005)
        submitted = pool.submit(_submit_reason, policy, pair)
        time.sleep(0.5)
        # Without close-first it is refused at once by the latch, beside the running close.
        assert not submitted.done(), "the submit did not wait for the close"
        hold.set()
        assert closing.result(timeout=20).writer_synced
        assert submitted.result(timeout=20) == "KILL_SWITCH_CLOSED"
    assert policy.writer.servicer.calls("SubmitOrder") == []


def test_close_when_writes_wait_at_their_checkpoints_then_the_close_is_not_held_by_them(
    policy: Harness,
) -> None:
    gate = policy.service.gate
    gate.close_first = CloseFirst(max_wait_s=10.0)  # no write gives up waiting on a slow box
    pairs = [policy.approved() for _ in range(4)]
    with gate.close_first.closing():  # writes that arrive now wait at their checkpoint
        with ThreadPoolExecutor(max_workers=4) as pool:
            waiting = [pool.submit(_submit_reason, policy, pair) for pair in pairs]
            time.sleep(0.3)
            assert not any(w.done() for w in waiting)
            start = time.monotonic()
            # The operator's close runs while they wait: it never waits for a write.
            assert _close(policy).writer_synced
            assert time.monotonic() - start < gate.close_first.max_wait_s
            assert not any(w.done() for w in waiting)
    assert {w.result(timeout=20) for w in waiting} == {"KILL_SWITCH_CLOSED"}
    assert policy.writer.servicer.calls("SubmitOrder") == []
