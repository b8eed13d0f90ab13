"""Two policy replicas on one real PostgreSQL: keys, approvals and the kill switch hold."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.fake_writer import RunningFakeWriter
from tests.policy.harness import ACCOUNT, Harness, built, new_key, reason_of


@pytest.fixture()
def replicas(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, pg_url: str
) -> Iterator[tuple[Harness, Harness]]:
    # Same database and the same account-hash key (from config, as deployed replicas get it):
    # one gate, two processes' worth of state.
    shared = {"audit.account_hash_key": secrets.token_hex(16)}
    with built(dev_pki, tmp_path / "a", writer, pg_url, overrides=shared) as a:
        with built(dev_pki, tmp_path / "b", writer, pg_url, overrides=shared) as b:
            a.open_switch()
            yield a, b


def test_submit_when_fifty_requests_share_a_key_across_replicas_then_one_writer_call(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    pid, aid = a.approved()
    key = new_key()

    def attempt(i: int) -> str:
        try:
            (a if i % 2 else b).submit(pid, aid, key=key)
            return "ok"
        except grpc.RpcError as err:
            return reason_of(err)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(50)))
    assert len(a.writer.servicer.calls("SubmitOrder")) == 1
    assert "ok" in results and set(results) <= {"ok", "IDEMPOTENCY_IN_PROGRESS"}


def test_submit_when_two_replicas_race_one_approval_then_one_succeeds(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    pid, aid = a.approved()

    def attempt(h: Harness) -> str:
        try:
            h.submit(pid, aid)
            return "ok"
        except grpc.RpcError as err:
            return reason_of(err)

    for _ in range(3):
        pid, aid = a.approved()
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = sorted(pool.map(attempt, (a, b)))
        assert results == ["APPROVAL_CONSUMED", "ok"]
    assert len(a.writer.servicer.calls("SubmitOrder")) == 3


def test_submit_when_switch_closed_on_replica_a_then_replica_b_refuses_at_once(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    pid, aid = b.approved()
    res = a.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="incident"
        )
    )
    assert res.writer_synced
    with pytest.raises(grpc.RpcError) as caught:
        b.submit(pid, aid)
    assert reason_of(caught.value) == "KILL_SWITCH_CLOSED"
    assert a.writer.servicer.calls("SubmitOrder") == []


def test_submit_when_each_replica_audits_one_account_then_both_use_one_account_hash(
    replicas: tuple[Harness, Harness],
) -> None:
    """Usage counters and the audit join an account across replicas only if its hash agrees."""
    a, b = replicas
    a.submit(*a.approved())
    b.submit(*b.approved())
    executed = [
        e["account_id_hash"]
        for e in a.rows("audit_events")
        if (e["method"], e["outcome"]) == ("SubmitOrder", "EXECUTED")
    ]
    assert len(executed) == 2
    assert set(executed) == {a.service.gate.account_hash(ACCOUNT)}
    assert b.service.gate.account_hash(ACCOUNT) == a.service.gate.account_hash(ACCOUNT)
