"""Invariant 3: the writer killed between the broker's ack and the policy's commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway_sim import GatewaySimulator
from livegate_api.v1 import common_pb2, policy_pb2
from livegate_common.devconfig import WRITER_SERVICE_NAME
from policy_service import config as policy_config
from policy_service.server import PolicyService, build_service
from tests.faults.clients import PolicyClients
from tests.faults.processes import ServiceProcess, spawn, wait_serving
from tests.policy.harness import new_key, policy_doc, reason_of
from tests.support.net import free_port, wait_until
from tests.support.sim import start_sim
from tests.support.stack import BROKER_TIMEOUT_S
from tests.support.vault import DevVault
from tests.support.writers import writer_document
from writer_service.config import Role

# Replies from the simulator are held this long, so the broker has the order well before the
# writer hears the acknowledgement: the kill lands inside that window every time.
ACK_DELAY_S = 1.0


@dataclass
class CrashRig:
    sim: GatewaySimulator
    policy: PolicyService
    clients: PolicyClients
    pki: Path
    vault: DevVault
    workdir: Path
    writer_port: int
    writer: ServiceProcess
    starts: int = 1

    def start_writer(self) -> ServiceProcess:
        """A fresh writer process (fresh wrapped secret id) on the same port as before."""
        self.starts += 1
        doc = self._writer_doc()
        self.writer = spawn("livegate-writer", doc, self.workdir, f"writer-{self.starts}")
        wait_serving(self.writer, self.pki, "policy", self.writer_port, WRITER_SERVICE_NAME)
        return self.writer

    def _writer_doc(self) -> dict[str, Any]:
        return writer_doc(self.pki, self.vault, self.workdir, self.sim.port, self.writer_port)


def writer_doc(
    pki: Path, vault: DevVault, workdir: Path, gateway_port: int, listen_port: int
) -> dict[str, Any]:
    doc = writer_document(
        pki, vault, Role.W, workdir, gateway_port=gateway_port, request_timeout_s=BROKER_TIMEOUT_S
    )
    doc["server"]["listen"] = f"127.0.0.1:{listen_port}"
    return doc


@contextmanager
def writer_crash_rig(pki: Path, vault: DevVault, workdir: Path) -> Iterator[CrashRig]:
    """A writer process to SIGKILL, a policy in this process, the kill switch open."""
    with ExitStack() as cleanup:
        sim = start_sim()
        cleanup.callback(sim.stop)
        writer_port = free_port()
        doc = writer_doc(pki, vault, workdir, sim.port, writer_port)
        writer = spawn("livegate-writer", doc, workdir, "writer-1")
        wait_serving(writer, pki, "policy", writer_port, WRITER_SERVICE_NAME)
        data = workdir / "policy"
        db_url = f"sqlite:///{data / 'policy.db'}"
        pdoc = policy_doc(pki, data, writer_port, db_url, broker_timeout_s=BROKER_TIMEOUT_S)
        policy = build_service(policy_config.from_document(pdoc, data)).start()
        cleanup.callback(policy.stop, 0.2)
        clients = PolicyClients.connect(pki, policy.port)
        cleanup.callback(clients.close)
        rig = CrashRig(sim, policy, clients, pki, vault, workdir, writer_port, writer)
        cleanup.callback(lambda: rig.writer.stop())
        clients.set_switch(common_pb2.KILL_SWITCH_STATE_OPEN)
        yield rig


@pytest.fixture
def rig(dev_pki: Path, faults_vault: DevVault, tmp_path: Path) -> Iterator[CrashRig]:
    with writer_crash_rig(dev_pki, faults_vault, tmp_path) as started:
        yield started


def _kill_on_place(rig: CrashRig, key: str, killed: threading.Event) -> None:
    """SIGKILL the writer the moment the simulator has received the placeOrder for KEY."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(w.name == "PLACE_ORDER" and key in w.fields for w in rig.sim.received_writes()):
            rig.writer.kill()
            killed.set()
            return
        time.sleep(0.002)


def _places_for(sim: GatewaySimulator, key: str) -> int:
    return sum(1 for w in sim.received_writes() if w.name == "PLACE_ORDER" and key in w.fields)


def test_submit_when_writer_killed_after_broker_ack_then_retry_settles_to_the_one_order(
    rig: CrashRig,
) -> None:
    """Invariant 3: one key, one broker order, across a writer crash before the policy commits."""
    preview_id, approval_id = rig.clients.approved(qty="2")
    key = new_key()
    killed = threading.Event()
    watcher = threading.Thread(target=_kill_on_place, args=(rig, key, killed), daemon=True)
    rig.sim.set_delay(ACK_DELAY_S)
    watcher.start()
    with pytest.raises(grpc.RpcError) as lost:
        rig.clients.submit(preview_id, approval_id, key)
    watcher.join(timeout=15)
    rig.sim.set_delay(0)
    assert killed.is_set(), "the placeOrder never reached the simulator"
    # The policy cannot know whether the order exists: it says so and keeps the key open.
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason_of(lost.value) in ("WRITER_UNAVAILABLE", "WRITER_OUTCOME_UNKNOWN")
    [held] = [o for o in rig.sim.orders() if o.order_ref == key]

    rig.start_writer()
    replies: list[policy_pb2.SubmitOrderResponse] = []

    def retried() -> bool:
        try:
            replies.append(rig.clients.submit(preview_id, approval_id, key, timeout_s=10))
            return True
        except grpc.RpcError as err:
            # Until the policy's channel reconnects the writer is unavailable: retry the key.
            assert err.code() == grpc.StatusCode.UNAVAILABLE, reason_of(err)
            return False

    assert wait_until(retried, timeout_s=20, interval_s=0.3)
    [reply] = replies
    assert reply.replayed and reply.order.broker_order_id == held.order_id
    assert [o.order_id for o in rig.sim.orders() if o.order_ref == key] == [held.order_id]
    assert _places_for(rig.sim, key) == 1
    # The settled submit consumed the approval: it cannot buy a second order under a new key.
    with pytest.raises(grpc.RpcError) as reused:
        rig.clients.submit(preview_id, approval_id, new_key())
    assert reason_of(reused.value) == "APPROVAL_CONSUMED"
    assert _places_for(rig.sim, key) == 1 and len(rig.sim.orders()) == 1
