"""No one floods the trail: an unmapped certificate, or a principal refused again and again,
grows it by a bounded number of events; a principal over its refusal limit is throttled."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_common.pki import issue, load_authority, spiffe_id
from livegate_common.tls import TLSFiles, secure_channel
from policy_service.refusal_summaries import flush_refusal_summaries
from tests.policy.conftest import MakePolicy
from tests.policy.harness import Harness, acknowledge, meta_of, new_key, reason_of

FLOOD = 300
INTERVAL_S = 10  # the default audit.refusal_interval_s
LIMIT = 120  # the default audit.refusal_limit_per_min


def _stranger(pki: Path, tmp: Path, port: int) -> grpc.Channel:
    """A valid certificate from our CA whose SAN no principal maps."""
    leaf = issue(load_authority(pki), "stranger", uris=(spiffe_id("stranger"),))
    files = TLSFiles(tmp / "ca.pem", tmp / "s.pem", tmp / "s.key")
    files.ca.write_bytes((pki / "ca.pem").read_bytes())
    files.cert.write_bytes(leaf.cert_pem)
    files.key.write_bytes(leaf.key_pem)
    return secure_channel(f"localhost:{port}", files)


def _code_of(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as err:
        return err.code(), reason_of(err)
    return grpc.StatusCode.OK, ""


def _summaries(h: Harness, since_id: int) -> list[dict[str, str]]:
    return [
        json.loads(e["detail"])
        for e in h.rows("audit_events")
        if e["event_id"] > since_id and "aggregated" in json.loads(e["detail"])
    ]


def _head(h: Harness) -> int:
    return max(e["event_id"] for e in h.rows("audit_events"))


def test_flood_when_an_unmapped_certificate_calls_again_and_again_then_two_events(
    make_policy: MakePolicy, dev_pki: Path, tmp_path: Path
) -> None:
    h = make_policy()
    before, head = h.count("audit_events"), _head(h)
    with _stranger(dev_pki, tmp_path, h.service.port) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        codes = {
            _code_of(lambda: stub.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=5))
            for _ in range(FLOOD)
        }
    assert codes == {(grpc.StatusCode.PERMISSION_DENIED, "PRINCIPAL_NOT_CONFIGURED")}
    assert h.count("audit_events") == before + 1  # the first, at once
    h.clock.advance(INTERVAL_S + 1)
    assert flush_refusal_summaries(h.service.gate) == 1
    assert h.count("audit_events") == before + 2  # and one summary with the count
    (summary,) = _summaries(h, head)
    assert summary["aggregated"] == str(FLOOD - 1)
    assert spiffe_id("stranger") in summary["source"] and len(summary["cert_sha256"]) == 64


def test_flood_when_one_principal_is_refused_again_and_again_then_bounded_and_throttled(
    make_policy: MakePolicy,
) -> None:
    h = make_policy(open_switch=False)  # every submit is refused: KILL_SWITCH_CLOSED
    acknowledge(h.operator)  # else step 4 refuses first (CHECKLIST_NOT_ACKNOWLEDGED)
    pid, aid = h.approved()
    before, head = h.count("audit_events"), _head(h)
    results = [_code_of(lambda: h.submit(pid, aid, key=new_key())) for _ in range(FLOOD)]
    closed = (grpc.StatusCode.FAILED_PRECONDITION, "KILL_SWITCH_CLOSED")
    throttled = (grpc.StatusCode.RESOURCE_EXHAUSTED, "REFUSAL_RATE_EXCEEDED")
    assert results == [closed] * LIMIT + [throttled] * (FLOOD - LIMIT)
    # One event per reason at once; the rest folded into one summary each.
    assert h.count("audit_events") == before + 2
    h.clock.advance(INTERVAL_S + 1)
    assert flush_refusal_summaries(h.service.gate) == 2
    assert h.count("audit_events") == before + 4
    folded = sorted(int(s["aggregated"]) for s in _summaries(h, head))
    assert folded == sorted([LIMIT - 1, FLOOD - LIMIT - 1])


def test_throttle_when_limit_exceeded_then_metadata_says_when_and_the_minute_ends_it(
    make_policy: MakePolicy,
) -> None:
    h = make_policy(open_switch=False)
    pid, aid = h.approved()
    for _ in range(LIMIT):
        _code_of(lambda: h.submit(pid, aid, key=new_key()))
    with pytest.raises(grpc.RpcError) as caught:
        h.upstream.GetLiveStatus(policy_pb2.GetLiveStatusRequest())
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    meta = meta_of(caught.value)
    assert (meta["refusals"], meta["limit_per_min"], meta["gate_step"]) == (str(LIMIT), "120", "1")
    assert 1 <= int(meta["retry_after_s"]) <= 60
    h.clock.advance(61)
    assert h.upstream.GetLiveStatus(policy_pb2.GetLiveStatusRequest()).conditions


def test_throttle_when_operator_is_over_the_limit_then_it_can_still_close_the_switch(
    make_policy: MakePolicy,
) -> None:
    h = make_policy()
    for _ in range(LIMIT):  # refused: nothing is past retention yet
        _code_of(lambda: h.operator.PurgeAudit(policy_pb2.PurgeAuditRequest()))
    code, reason = _code_of(lambda: h.operator.ListAuditEvents(policy_pb2.ListAuditEventsRequest()))
    assert (code, reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "REFUSAL_RATE_EXCEEDED")
    closed = h.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="stop")
    )
    assert closed.kill_switch.state == common_pb2.KILL_SWITCH_STATE_CLOSED


def test_throttle_when_second_operator_is_over_the_limit_then_it_can_still_confirm_a_reopen(
    make_policy: MakePolicy,
) -> None:
    h = make_policy(open_switch=False)
    acknowledge(h.operator)
    for _ in range(LIMIT):  # refused: nothing is past retention yet
        _code_of(lambda: h.operator2.PurgeAudit(policy_pb2.PurgeAuditRequest()))
    code, reason = _code_of(
        lambda: h.operator2.ListAuditEvents(policy_pb2.ListAuditEventsRequest())
    )
    assert (code, reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "REFUSAL_RATE_EXCEEDED")
    asked = h.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=common_pb2.KILL_SWITCH_STATE_OPEN, reason="fixed")
    )
    assert asked.kill_switch.state == common_pb2.KILL_SWITCH_STATE_CLOSED
    confirmed = h.operator2.ConfirmReopen(
        policy_pb2.ConfirmReopenRequest(
            reopen_id=asked.kill_switch.pending_reopen.reopen_id, reason="checked"
        )
    )
    assert confirmed.kill_switch.state == common_pb2.KILL_SWITCH_STATE_OPEN
