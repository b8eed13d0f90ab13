"""The policy's log lines name an account only by its keyed hash, CRITICAL lines included."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import grpc
import pytest

from livegate_api.v1 import policy_pb2
from tests.policy.fake_writer import RunningFakeWriter
from tests.policy.harness import ACCOUNT, OTHER_ACCOUNT, built, new_key, reason_of
from tests.support.db_faults import postgres_read_only
from tests.support.logs import captured_lines, lines_naming
from tests.support.net import wait_until


def test_logs_when_outcome_cannot_be_recorded_and_is_settled_then_no_account_id_in_clear(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, pg_url: str
) -> None:
    with captured_lines(logging.DEBUG) as lines:
        with built(dev_pki, tmp_path / "p", writer, pg_url) as h:
            h.open_switch()
            h.submit(*h.approved())
            with pytest.raises(grpc.RpcError):
                h.preview(account=OTHER_ACCOUNT)  # refused at step 5, logged
            h.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
            # The writer places the order, then answers slowly; meanwhile the database turns
            # read-only, so the outcome cannot be recorded: the gate's CRITICAL path.
            preview_id, approval_id = h.approved()
            key = new_key()
            writer.servicer.state.submit_delay_s = 1.5
            calls = len(writer.servicer.calls("SubmitOrder"))
            outcome: list[str] = []

            def submit() -> None:
                try:
                    h.submit(preview_id, approval_id, key=key)
                    outcome.append("ok")
                except grpc.RpcError as err:
                    outcome.append(reason_of(err))

            worker = threading.Thread(target=submit)
            worker.start()
            assert wait_until(lambda: len(writer.servicer.calls("SubmitOrder")) > calls, 5)
            with postgres_read_only(pg_url):
                worker.join(timeout=15)
            writer.servicer.state.submit_delay_s = 0
            # Past the pending timeout, a retry settles the key the failure left pending (the
            # first calls after the database comes back may meet pooled connections it closed).
            h.clock.advance(31)

            def settled() -> bool:
                try:
                    h.submit(preview_id, approval_id, key=key)
                except grpc.RpcError as err:
                    assert reason_of(err) == "AUDIT_UNAVAILABLE", reason_of(err)
                    return False
                return True

            assert wait_until(settled, timeout_s=10, interval_s=0.2)
            expected_hash = h.service.gate.account_hash(ACCOUNT)
    assert outcome and outcome[0] != "ok"
    critical = [json.loads(line) for line in lines if '"level":"critical"' in line]
    assert critical, "the test did not reach a CRITICAL line"
    assert {line.get("account_id_hash") for line in critical} == {expected_hash}
    assert lines_naming(lines, [ACCOUNT, OTHER_ACCOUNT]) == []
