"""The writer's close goes first: a write arriving while it runs waits, then meets the switch."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from livegate_api.v1 import common_pb2, writer_pb2
from livegate_common.close_first import CloseFirst
from tests.writer.conftest import RunningWriter
from tests.writer.test_orders import refusal, submit


def test_submit_when_the_writers_close_is_in_progress_then_it_waits_and_is_refused(
    running: RunningWriter,
) -> None:
    writer = running.handle.writer
    writer.close_first = CloseFirst(max_wait_s=10.0)  # no write gives up waiting on a slow box
    sent_before = len(running.sim.received_writes())
    with ThreadPoolExecutor(max_workers=1) as pool:
        with writer.close_first.closing():  # a close is being applied here
            waiting = pool.submit(submit, running, "key-close-first")
            time.sleep(0.5)
            # Without close-first it goes to the broker at once, the switch still open.
            assert not waiting.done(), "the write did not wait for the close"
            running.policy.SetKillSwitch(
                writer_pb2.WriterSetKillSwitchRequest(
                    state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="drill", version=2
                ),
                timeout=5,
            )  # the close itself is not held by the write waiting
            assert not waiting.done()
        with pytest.raises(grpc.RpcError) as refused:
            waiting.result(timeout=20)
    assert refusal(refused)[1] == "WRITER_KILL_SWITCH_CLOSED"
    assert len(running.sim.received_writes()) == sent_before
