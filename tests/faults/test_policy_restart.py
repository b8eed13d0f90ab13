"""Invariants 3 and 4 across a policy crash: the process SIGKILLed mid-load, then restarted."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gateway_sim import GatewaySimulator
from livegate_api.v1 import common_pb2
from livegate_common.deadlines import min_pending_timeout_s, min_writer_deadline_s
from livegate_common.devconfig import POLICY_SERVICE_NAME
from tests.faults.clients import PolicyClients
from tests.faults.load import Task, run_submitters
from tests.faults.processes import ServiceProcess, spawn, wait_serving
from tests.policy.harness import new_key, policy_doc
from tests.support.net import free_port, wait_until
from tests.support.sim import start_sim
from tests.support.stack import BROKER_TIMEOUT_S
from tests.support.vault import DevVault
from tests.support.writers import make_config, writer_document
from writer_service.app import start_writer
from writer_service.config import Role

APPROVALS = 20
SUBMITTERS = 4
# A key left PENDING by the crash is settled (asked of the writer by orderRef) after this: the
# least the stack's writer deadline allows (livegate_common.deadlines).
PENDING_TIMEOUT_S = min_pending_timeout_s(min_writer_deadline_s(BROKER_TIMEOUT_S))


@dataclass
class PolicyRig:
    sim: GatewaySimulator
    pki: Path
    workdir: Path
    doc: dict[str, Any]
    port: int
    db_url: str
    policy: ServiceProcess
    starts: int = 1

    def restart_policy(self) -> None:
        """The same config (port, database, account-hash key) in a new process."""
        self.starts += 1
        self.policy = spawn("livegate-policy", self.doc, self.workdir, f"policy-{self.starts}")
        wait_serving(self.policy, self.pki, "upstream", self.port, POLICY_SERVICE_NAME)


@contextmanager
def policy_restart_rig(pki: Path, vault: DevVault, workdir: Path) -> Iterator[PolicyRig]:
    """A policy process to SIGKILL and restart on its port and database; the writer in here."""
    with ExitStack() as cleanup:
        sim = start_sim()
        cleanup.callback(sim.stop)
        wdoc = writer_document(
            pki, vault, Role.W, workdir, gateway_port=sim.port, request_timeout_s=BROKER_TIMEOUT_S
        )
        writer = start_writer(make_config(wdoc, workdir))
        cleanup.callback(writer.stop)
        data = workdir / "policy"
        db_url = f"sqlite:///{data / 'policy.db'}"
        doc = policy_doc(pki, data, writer.port, db_url, broker_timeout_s=BROKER_TIMEOUT_S)
        port = free_port()
        doc["server"]["listen"] = f"127.0.0.1:{port}"
        doc["idempotency"]["pending_timeout_s"] = PENDING_TIMEOUT_S
        # The upstream's retries across the crash are refusals too (IDEMPOTENCY_IN_PROGRESS);
        # under a loaded machine they crossed the refusal limit and the throttle's minute
        # outlived the test. The throttle has its own tests (tests/policy/test_audit_flood.py).
        doc["audit"]["refusal_limit_per_min"] = 0
        proc = spawn("livegate-policy", doc, workdir, "policy-1")
        rig = PolicyRig(sim, pki, workdir, doc, port, db_url, proc)
        cleanup.callback(lambda: rig.policy.stop())
        wait_serving(proc, pki, "upstream", port, POLICY_SERVICE_NAME)
        yield rig


@pytest.fixture
def rig(dev_pki: Path, faults_vault: DevVault, tmp_path: Path) -> Iterator[PolicyRig]:
    with policy_restart_rig(dev_pki, faults_vault, tmp_path) as started:
        yield started


def _tasks(clients: PolicyClients) -> tuple[list[list[Task]], dict[str, str]]:
    """Queues of tasks: some keys sent twice at once, some approvals given to two keys."""
    queues: list[list[Task]] = [[] for _ in range(SUBMITTERS)]
    approval_of: dict[str, str] = {}
    for i in range(APPROVALS):
        task = Task(*clients.approved(), key=new_key())
        approval_of[task.key] = task.approval_id
        queues[i % SUBMITTERS].append(task)
        other = queues[(i + 1) % SUBMITTERS]
        if i % 4 == 0:  # a concurrent duplicate of the same request
            other.append(task)
        elif i % 4 == 1:  # a second key trying to spend the same approval
            twin = Task(task.preview_id, task.approval_id, new_key())
            approval_of[twin.key] = task.approval_id
            other.append(twin)
    return queues, approval_of


def test_submits_when_policy_killed_and_restarted_mid_load_then_no_approval_or_key_used_twice(
    rig: PolicyRig,
) -> None:
    """Invariants 3 and 4: after a crash, one order per key and one use per approval."""
    clients = PolicyClients.connect(rig.pki, rig.port)
    try:
        clients.set_switch(common_pb2.KILL_SWITCH_STATE_OPEN)
        queues, approval_of = _tasks(clients)
        results, threads = run_submitters(
            lambda t: clients.submit(t.preview_id, t.approval_id, t.key, timeout_s=10),
            queues,
            timeout_s=45,
        )
        assert wait_until(lambda: len(results.executed) >= 4, timeout_s=15)
        rig.policy.kill()
        executed_before_crash = len(results.executed)
        rig.restart_policy()
        for thread in threads:
            thread.join(timeout=50)
    finally:
        clients.close()
    assert results.unsettled == []
    # The crash landed mid-load: work was left, and callers had to retry across it.
    assert executed_before_crash < APPROVALS and results.retries > 0

    orders_by_ref = Counter(o.order_ref for o in rig.sim.orders())
    assert set(orders_by_ref) <= set(approval_of)  # every broker order came through the gate
    assert all(n == 1 for n in orders_by_ref.values()), orders_by_ref
    # Every key the policy says it executed has exactly its one order at the broker.
    for key, replies in results.executed.items():
        [order] = [o for o in rig.sim.orders() if o.order_ref == key]
        assert {r.order.broker_order_id for r in replies} == {order.order_id}
    assert set(orders_by_ref) == set(results.executed), results.refused

    executed_per_approval: dict[str, set[str]] = defaultdict(set)
    for key in results.executed:
        executed_per_approval[approval_of[key]].add(key)
    assert len(executed_per_approval) == APPROVALS
    assert all(len(keys) == 1 for keys in executed_per_approval.values())
    # The losers of a shared approval were refused for it, never executed.
    assert {r for reasons in results.refused.values() for r in reasons} <= {"APPROVAL_CONSUMED"}
    engine = sa.create_engine(rig.db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT approval_id, reserved_key, consumed_at_us FROM approvals")
            ).all()
    finally:
        engine.dispose()
    consumed = {row.approval_id: row.reserved_key for row in rows if row.consumed_at_us}
    assert consumed == {a: next(iter(keys)) for a, keys in executed_per_approval.items()}
