"""Writer fixtures: a provisioned OpenBao, writer configs per role, writers over the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway_sim import GatewaySimulator
from livegate_api.v1 import common_pb2, writer_pb2, writer_pb2_grpc
from livegate_common.devconfig import tls_section, writer_principals
from livegate_common.pki import spiffe_id
from tests.support.grpc_clients import channel_as
from tests.support.sim import start_sim
from tests.support.vault import DevVault, dev_vault
from writer_service import config as writer_config
from writer_service.app import WriterHandle, start_writer
from writer_service.config import Role, WriterConfig
from writer_service.vault_layout import provision, wrapped_secret_id, write_broker_secret

ACCOUNT = "U1234567"


@pytest.fixture(scope="session")
def vault() -> Iterator[DevVault]:
    with dev_vault() as started:
        provision(started.client())
        yield started


def role_ids(vault: DevVault) -> dict[Role, str]:
    return {p.role: p.role_id for p in provision(vault.client())}


def writer_document(
    pki: Path,
    vault: DevVault,
    role: Role,
    workdir: Path,
    *,
    gateway_port: int,
    accounts: str = ACCOUNT,
    client_id: int = 11,
    peer_timeout_s: float = 60.0,
    vault_addr: str | None = None,
) -> dict[str, Any]:
    """Store ROLE's broker secret, issue a wrapped secret id, and return a config document."""
    client = vault.client()
    write_broker_secret(
        client,
        role,
        {
            "gateway_host": "127.0.0.1",
            "gateway_port": gateway_port,
            "client_id": client_id,
            "accounts": accounts,
        },
    )
    wrap_file = workdir / f"secret-id-{role.value}.wrap"
    wrap_file.write_text(wrapped_secret_id(client, role), encoding="utf-8")
    principals = writer_principals()
    # A mapped identity without writer.call, to prove the servicer checks the scope itself.
    principals["operator"] = {"sans": [spiffe_id("operator")], "scopes": []}
    return {
        "role": role.value,
        "server": {"listen": "127.0.0.1:0", "tls": tls_section(pki, "writer")},
        "principals": principals,
        "vault": {
            "addr": vault_addr or vault.addr,
            "role_id": role_ids(vault)[role],
            "wrapped_secret_id_file": str(wrap_file),
            "secret_path": f"livegate/{role.value}/broker",
        },
        "broker": {"connect_timeout_s": 5, "probe_timeout_s": 3, "request_timeout_s": 5},
        "kill_switch": {"policy_peer_timeout_s": peer_timeout_s},
        "logging": {"level": "INFO"},
    }


def make_config(doc: dict[str, Any], workdir: Path) -> WriterConfig:
    return writer_config.from_document(doc, workdir)


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
