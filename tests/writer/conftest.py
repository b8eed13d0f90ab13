"""Writer fixtures: a provisioned OpenBao, writer configs per role, writers over the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway_sim import GatewaySimulator
from livegate_api.v1 import common_pb2, writer_pb2, writer_pb2_grpc
from livegate_common.vault_layout import provision
from tests.support.grpc_clients import channel_as
from tests.support.sim import start_sim
from tests.support.vault import DevVault, dev_vault
from tests.support.writers import make_config, writer_document
from writer_service.app import WriterHandle, start_writer
from writer_service.config import Role


@pytest.fixture(scope="session")
def vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        provision(started.client())
        yield started


def stub(pki: Path, identity: str, port: int) -> writer_pb2_grpc.WriterServiceStub:
    return writer_pb2_grpc.WriterServiceStub(channel_as(pki, identity, port))


@dataclass
class RunningWriter:
    """A W writer serving over a live simulator, its switch opened by a policy-like sync."""

    handle: WriterHandle
    sim: GatewaySimulator
    policy: writer_pb2_grpc.WriterServiceStub
    pki: Path
    doc: dict[str, Any]
    workdir: Path
    vault: DevVault

    def restart(self) -> None:
        self.handle.stop()
        self.doc = writer_document(
            self.pki, self.vault, Role.W, self.workdir, gateway_port=self.sim.port
        )
        self.handle = start_writer(make_config(self.doc, self.workdir))
        self.policy = stub(self.pki, "policy", self.handle.port)
        open_switch(self.policy)


def open_switch(policy: writer_pb2_grpc.WriterServiceStub, version: int = 1) -> None:
    policy.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_OPEN, reason="test", version=version
        ),
        timeout=5,
    )


@pytest.fixture
def running(dev_pki: Path, vault: DevVault, tmp_path: Path) -> Iterator[RunningWriter]:
    sim = start_sim()
    try:
        doc = writer_document(dev_pki, vault, Role.W, tmp_path, gateway_port=sim.port)
        handle = start_writer(make_config(doc, tmp_path))
        policy = stub(dev_pki, "policy", handle.port)
        rw = RunningWriter(handle, sim, policy, dev_pki, doc, tmp_path, vault)
        open_switch(rw.policy)
        try:
            yield rw
        finally:
            rw.handle.stop()
    finally:
        sim.stop()
