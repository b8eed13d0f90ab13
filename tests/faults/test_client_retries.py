"""livegate_client across a writer crash and a policy restart: one key, one broker order."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from gateway_sim import GatewaySimulator
from livegate_client import KillSwitchState, RetryPolicy, WriteResult
from livegate_client.keys import KEY_PREFIX
from livegate_common.devconfig import WRITER_SERVICE_NAME
from policy_service import config as policy_config
from policy_service.server import build_service
from tests.client.flows import ACCOUNT, approved
from tests.client.spy import KeySpy, connect, connect_aio
from tests.faults.processes import spawn, wait_serving
from tests.faults.test_policy_restart import PENDING_TIMEOUT_S, PolicyRig
from tests.faults.test_writer_crash import ACK_DELAY_S, CrashRig, writer_doc
from tests.policy.harness import policy_doc
from tests.support.net import free_port
from tests.support.sim import start_sim
from tests.support.vault import DevVault
from tests.support.writers import make_config, writer_document
from writer_service.app import start_writer
from writer_service.config import Role

# Long enough for a writer or policy process to come back and its key to settle.
PATIENT = RetryPolicy(total_deadline_s=60.0, attempt_timeout_s=10.0, max_backoff_s=1.0)


def _places(sim: GatewaySimulator) -> list[str]:
    """Every placeOrder the simulator received: the client's, and the probes' what-if orders."""
    return [" ".join(map(str, w.fields)) for w in sim.received_writes() if w.name == "PLACE_ORDER"]


def _client_places(sim: GatewaySimulator) -> list[str]:
    return [line for line in _places(sim) if KEY_PREFIX in line]


def _on_first_place(sim: GatewaySimulator, act: Callable[[], None], done: threading.Event) -> None:
    """Run ACT the moment the simulator holds the client's placeOrder (its ack still delayed)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _client_places(sim):
        time.sleep(0.002)
    try:
        act()
    finally:
        done.set()


def _assert_one_order_one_key(sim: GatewaySimulator, result: WriteResult, spy: KeySpy) -> None:
    key = result.idempotency_key
    assert [o.order_ref for o in sim.orders()] == [key]  # one broker order, with this key
    assert len(_client_places(sim)) == 1 and key in _client_places(sim)[0]
    assert result.order.broker_order_id == sim.orders()[0].order_id
    # Every attempt the client sent carried the one key it made before the first.
    assert spy.keys("SubmitOrder") == [key] * result.attempts
    assert result.attempts > 1 and result.replayed


@pytest.fixture
def crash_rig(dev_pki: Path, faults_vault: DevVault, tmp_path: Path) -> Iterator[CrashRig]:
    """A writer process to SIGKILL, a policy in this process, the switch open."""
    with ExitStack() as cleanup:
        sim = start_sim()
        cleanup.callback(sim.stop)
        writer_port = free_port()
        doc = writer_doc(dev_pki, faults_vault, tmp_path, sim.port, writer_port)
        writer = spawn("livegate-writer", doc, tmp_path, "writer-1")
        wait_serving(writer, dev_pki, "policy", writer_port, WRITER_SERVICE_NAME)
        data = tmp_path / "policy"
        pdoc = policy_doc(dev_pki, data, writer_port, f"sqlite:///{data / 'policy.db'}")
        policy = build_service(policy_config.from_document(pdoc, data)).start()
        cleanup.callback(policy.stop, 0.2)
        rig = CrashRig(sim, policy, None, dev_pki, faults_vault, tmp_path, writer_port, writer)  # type: ignore[arg-type]
        cleanup.callback(lambda: rig.writer.stop())
        with connect(dev_pki, policy.port, "operator") as operator:
            operator.set_kill_switch(KillSwitchState.OPEN, "test")
        yield rig


def _crash_and_restart_writer(rig: CrashRig) -> None:
    rig.writer.kill()
    rig.sim.set_delay(0)
    time.sleep(0.5)  # the client meets the writer's absence before it is back
    rig.start_writer()


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_submit_when_writer_killed_mid_call_then_client_retries_one_key_to_one_order(
    crash_rig: CrashRig, flavour: str
) -> None:
    rig, spy = crash_rig, KeySpy()
    with (
        connect(rig.pki, rig.policy.port, "upstream") as up,
        connect(rig.pki, rig.policy.port, "approver") as approver,
    ):
        preview, approval = approved(up, approver)
    done = threading.Event()
    watcher = threading.Thread(
        target=_on_first_place, args=(rig.sim, lambda: _crash_and_restart_writer(rig), done)
    )
    rig.sim.set_delay(ACK_DELAY_S)
    watcher.start()
    try:
        if flavour == "sync":
            with connect(rig.pki, rig.policy.port, "upstream", spy, write_retry=PATIENT) as client:
                result = client.submit_order(ACCOUNT, preview.preview_id, approval.approval_id)
        else:

            async def submit() -> WriteResult:
                async with connect_aio(
                    rig.pki, rig.policy.port, "upstream", spy, write_retry=PATIENT
                ) as client:
                    return await client.submit_order(
                        ACCOUNT, preview.preview_id, approval.approval_id
                    )

            result = asyncio.run(submit())
    finally:
        watcher.join(timeout=30)
        rig.sim.set_delay(0)
    assert done.is_set()
    _assert_one_order_one_key(rig.sim, result, spy)


@pytest.fixture
def restart_rig(dev_pki: Path, faults_vault: DevVault, tmp_path: Path) -> Iterator[PolicyRig]:
    """A policy process to SIGKILL and start again on the same port and database."""
    with ExitStack() as cleanup:
        sim = start_sim()
        cleanup.callback(sim.stop)
        wdoc = writer_document(dev_pki, faults_vault, Role.W, tmp_path, gateway_port=sim.port)
        writer = start_writer(make_config(wdoc, tmp_path))
        cleanup.callback(writer.stop)
        data = tmp_path / "policy"
        db_url = f"sqlite:///{data / 'policy.db'}"
        doc = policy_doc(dev_pki, data, writer.port, db_url)
        port = free_port()
        doc["server"]["listen"] = f"127.0.0.1:{port}"
        doc["idempotency"]["pending_timeout_s"] = PENDING_TIMEOUT_S
        proc = spawn("livegate-policy", doc, tmp_path, "policy-1")
        rig = PolicyRig(sim, dev_pki, tmp_path, doc, port, db_url, proc)
        cleanup.callback(lambda: rig.policy.stop())
        wait_serving(proc, dev_pki, "upstream", port, "livegate.v1.PolicyService")
        with connect(dev_pki, port, "operator") as operator:
            operator.set_kill_switch(KillSwitchState.OPEN, "test")
        yield rig


def _crash_and_restart_policy(rig: PolicyRig) -> None:
    rig.policy.kill()
    rig.sim.set_delay(0)
    time.sleep(0.5)
    rig.restart_policy()


def test_submit_when_policy_restarted_mid_call_then_client_retries_one_key_to_one_order(
    restart_rig: PolicyRig,
) -> None:
    rig, spy = restart_rig, KeySpy()
    with (
        connect(rig.pki, rig.port, "upstream") as up,
        connect(rig.pki, rig.port, "approver") as approver,
    ):
        preview, approval = approved(up, approver)
    done = threading.Event()
    watcher = threading.Thread(
        target=_on_first_place, args=(rig.sim, lambda: _crash_and_restart_policy(rig), done)
    )
    rig.sim.set_delay(ACK_DELAY_S)
    watcher.start()
    try:
        with connect(rig.pki, rig.port, "upstream", spy, write_retry=PATIENT) as client:
            result = client.submit_order(ACCOUNT, preview.preview_id, approval.approval_id)
    finally:
        watcher.join(timeout=30)
        rig.sim.set_delay(0)
    assert done.is_set()
    _assert_one_order_one_key(rig.sim, result, spy)
