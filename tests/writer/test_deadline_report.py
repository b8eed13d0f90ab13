"""Issue 15, item 7: the writer reports the broker timeout the policy derives its deadlines from."""

from __future__ import annotations

from livegate_api.v1 import writer_pb2
from tests.writer.conftest import RunningWriter


def test_permission_when_asked_then_reports_its_broker_request_timeout(
    running: RunningWriter,
) -> None:
    permission = running.policy.GetPermission(writer_pb2.GetPermissionRequest(), timeout=5)
    assert permission.HasField("broker_request_timeout")
    reported = permission.broker_request_timeout.ToNanoseconds() / 1e9
    assert reported == running.doc["broker"]["request_timeout_s"] == 5
