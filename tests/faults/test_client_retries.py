"""livegate_client across a writer crash and a policy restart: one key, one broker order."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway_sim import GatewaySimulator
from livegate_client import Client, KillSwitchState, RetryPolicy, WriteResult, calls, keys
from livegate_client.keys import KEY_PREFIX
from tests.client.flows import ACCOUNT, approved
from tests.client.spy import KeySpy, connect, connect_aio
from tests.faults.clients import PolicyClients
from tests.faults.test_policy_restart import PolicyRig, policy_restart_rig
from tests.faults.test_writer_crash import ACK_DELAY_S, CrashRig, writer_crash_rig
from tests.policy.harness import acknowledge
from tests.support.vault import DevVault

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


def _submit_through(
    sim: GatewaySimulator, fault: Callable[[], None], submit: Callable[[], WriteResult]
) -> WriteResult:
    """SUBMIT while FAULT strikes the moment its placeOrder reaches the (slowed) broker."""
    done = threading.Event()
    watcher = threading.Thread(target=_on_first_place, args=(sim, fault, done))
    sim.set_delay(ACK_DELAY_S)
    watcher.start()
    try:
        result = submit()
    finally:
        watcher.join(timeout=30)
        sim.set_delay(0)
    assert done.is_set()
    return result


def _approved(pki: Path, port: int) -> tuple[str, str]:
    with connect(pki, port, "upstream") as up, connect(pki, port, "approver") as approver:
        preview, approval = approved(up, approver)
    return preview.preview_id, approval.approval_id


@pytest.fixture
def made_keys(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every key the library makes, in order: a retry must not add one."""
    made: list[str] = []

    def counting() -> str:
        made.append(keys.new_key())
        return made[-1]

    monkeypatch.setattr(calls, "new_key", counting)
    return made


def _assert_one_order_one_key(
    sim: GatewaySimulator, result: WriteResult, spy: KeySpy, made: list[str]
) -> None:
    key = result.idempotency_key
    assert made == [key]  # the library made one key for the call, before its first attempt
    assert [o.order_ref for o in sim.orders()] == [key]  # one broker order, with this key
    assert len(_client_places(sim)) == 1 and key in _client_places(sim)[0]
    assert result.order.broker_order_id == sim.orders()[0].order_id
    # Every attempt the client sent carried the one key it made before the first.
    assert spy.keys("SubmitOrder") == [key] * result.attempts
    assert result.attempts > 1 and result.replayed


@pytest.fixture
def crash_rig(dev_pki: Path, faults_vault: DevVault, tmp_path: Path) -> Iterator[CrashRig]:
    with writer_crash_rig(dev_pki, faults_vault, tmp_path) as rig:
        yield rig


def _crash_and_restart_writer(rig: CrashRig) -> None:
    rig.writer.kill()
    rig.sim.set_delay(0)
    time.sleep(0.5)  # the client meets the writer's absence before it is back
    rig.start_writer()


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_submit_when_writer_killed_mid_call_then_client_retries_one_key_to_one_order(
    crash_rig: CrashRig, flavour: str, made_keys: list[str]
) -> None:
    rig, spy = crash_rig, KeySpy()
    preview_id, approval_id = _approved(rig.pki, rig.policy.port)

    def submit() -> WriteResult:
        if flavour == "sync":
            with connect(rig.pki, rig.policy.port, "upstream", spy, write_retry=PATIENT) as c:
                return c.submit_order(ACCOUNT, preview_id, approval_id)

        async def submit_async() -> WriteResult:
            async with connect_aio(
                rig.pki, rig.policy.port, "upstream", spy, write_retry=PATIENT
            ) as client:
                return await client.submit_order(ACCOUNT, preview_id, approval_id)

        return asyncio.run(submit_async())

    result = _submit_through(rig.sim, lambda: _crash_and_restart_writer(rig), submit)
    _assert_one_order_one_key(rig.sim, result, spy, made_keys)


@pytest.fixture
def restart_rig(dev_pki: Path, faults_vault: DevVault, tmp_path: Path) -> Iterator[PolicyRig]:
    with policy_restart_rig(dev_pki, faults_vault, tmp_path) as rig:
        raw = PolicyClients.connect(rig.pki, rig.port)
        try:
            acknowledge(raw.operator)  # the operator call livegate_client does not carry
        finally:
            raw.close()
        with connect(rig.pki, rig.port, "operator") as operator:
            asked = operator.set_kill_switch(KillSwitchState.OPEN, "test")
        pending = asked.kill_switch.pending_reopen
        assert pending is not None  # a fresh service starts closed: a second operator confirms
        with connect(rig.pki, rig.port, "operator2") as second:
            second.confirm_reopen(pending.reopen_id, "test")
        yield rig


def _crash_and_restart_policy(rig: PolicyRig) -> None:
    rig.policy.kill()
    rig.sim.set_delay(0)
    time.sleep(0.5)
    rig.restart_policy()


def test_submit_when_policy_restarted_mid_call_then_client_retries_one_key_to_one_order(
    restart_rig: PolicyRig, made_keys: list[str]
) -> None:
    rig, spy = restart_rig, KeySpy()
    preview_id, approval_id = _approved(rig.pki, rig.port)

    def submit() -> WriteResult:
        client: Client
        with connect(rig.pki, rig.port, "upstream", spy, write_retry=PATIENT) as client:
            return client.submit_order(ACCOUNT, preview_id, approval_id)

    result = _submit_through(rig.sim, lambda: _crash_and_restart_policy(rig), submit)
    _assert_one_order_one_key(rig.sim, result, spy, made_keys)
