"""Automatic stops with two policy replicas sharing PostgreSQL: a writer's trip closes the
shared switch once (one audited close), and rejections count in a row across replicas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from livegate_common.auto_stop_bounds import broker_rejections_s
from tests.e2e.auto_stops_support import (
    CLOSED,
    POLL_S,
    recorded_close,
    stack_with,
    switch_state,
)
from tests.e2e.test_auto_stop_rejections import ON, N, reject_submits
from tests.policy.harness import reason_of
from tests.support.net import wait_until
from tests.support.postgres import PostgresCluster, postgres_cluster
from tests.support.vault import DevVault
from writer_service.kill_switch import SwitchState

BOUND_S = broker_rejections_s(POLL_S)


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


def test_broker_rejections_when_spread_over_two_postgres_replicas_then_both_closed_once(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, pg: PostgresCluster
) -> None:
    db_url = pg.create_database()
    with stack_with(dev_pki, tmp_path, stack_vault, writer=ON, db_url=db_url, replicas=2) as stack:
        first, second = stack.replicas
        reject_submits(stack, N, replicas=[first, second])

        def all_closed() -> bool:
            writer = stack.writer.kill_switch.snapshot().state is SwitchState.CLOSED
            return writer and all(switch_state(r) == CLOSED for r in stack.replicas)

        assert wait_until(all_closed, timeout_s=BOUND_S)
        # Both replicas ask the writer; the trip's lease hands it to one: one audited close.
        assert wait_until(lambda: stack.writer.auto_stops.pending() == [], timeout_s=BOUND_S)
        close = recorded_close(stack, "broker_rejections", second)
        assert close.detail["evidence.rejections"] == str(N)
        for replica in stack.replicas:
            approved = stack.approved(replica)
            with pytest.raises(grpc.RpcError) as refused:
                stack.submit(*approved, replica=replica)
            assert reason_of(refused.value) == "KILL_SWITCH_CLOSED"
