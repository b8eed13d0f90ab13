"""The whole stack in one process: simulator, OpenBao, the W writer, policy replicas, clients."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from gateway_sim import GatewaySimulator
from livegate_api.v1 import policy_pb2, policy_pb2_grpc
from policy_service import config as policy_config
from policy_service.domain.ports import Clock
from policy_service.server import PolicyService, build_service
from tests.policy.harness import acknowledge, new_key, order_msg, policy_doc, set_path
from tests.support.grpc_clients import channel_as, reopen
from tests.support.sim import start_sim
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT, make_config, writer_document
from writer_service.app import WriterHandle, start_writer
from writer_service.config import Role

# The writer's broker.request_timeout_s in a stack, declared to the policy too: its deadlines
# derive from it (a write may take the writer 4.5 s, the policy waits 5 s).
BROKER_TIMEOUT_S = 1.0
# The simulator quotes AAPL 189.20/189.30; resting buy limits inside the test risk collar.
RESTING_BUY = "189.00"


@dataclass
class Replica:
    service: PolicyService
    upstream: policy_pb2_grpc.PolicyServiceStub
    approver: policy_pb2_grpc.PolicyServiceStub
    operator: policy_pb2_grpc.PolicyServiceStub
    channels: list[grpc.Channel]

    @property
    def port(self) -> int:
        return self.service.port

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
        self.service.stop(0.2)


@dataclass
class Stack:
    sim: GatewaySimulator
    vault: DevVault
    pki: Path
    workdir: Path
    db_url: str
    writer: WriterHandle
    replicas: list[Replica] = field(default_factory=list)
    limits: dict[str, Any] | None = None
    # Dotted config paths over the test defaults, e.g. {"broker.request_timeout_s": 0.5}.
    writer_overrides: dict[str, Any] = field(default_factory=dict)
    policy_overrides: dict[str, Any] = field(default_factory=dict)
    accounts: tuple[str, ...] = (ACCOUNT,)
    # The risk policy's per-instrument entries, its version and the policy's clock (a test
    # moves it instead of sleeping): what a test of the risk rules varies.
    instruments: list[dict[str, Any]] | None = None
    clock: Clock | None = None
    policy_version: int = 1
    _hash_key: str = field(default_factory=lambda: secrets.token_hex(16))
    # The audit keyring the replicas share (one chain, one key), as deployed replicas read one
    # Vault path.
    keyring_file: str = ""

    @property
    def policy(self) -> Replica:
        return self.replicas[0]

    def start_writer(self) -> WriterHandle:
        self.writer = _start_writer(
            self.pki, self.vault, self.workdir, self.sim, self.writer_overrides, self.accounts,
            self._hash_key,
        )  # fmt: skip
        return self.writer

    def add_replica(self) -> Replica:
        index = len(self.replicas)
        data = self.workdir / f"policy-{index}"
        doc = policy_doc(
            self.pki,
            data,
            self.writer.port,
            self.db_url,
            self.limits,
            BROKER_TIMEOUT_S,
            instruments=self.instruments,
            version=self.policy_version,
        )
        doc["live_trading"]["allowed_accounts"] = list(self.accounts)
        for dotted, value in self.policy_overrides.items():
            set_path(doc, dotted, value)
        # Replicas and the writer share the account-hash key, as a deployment's do; the
        # replicas share the first one's audit keyring.
        doc["audit"]["account_hash_key"] = self._hash_key
        if self.replicas:
            doc["audit"]["keyring_file"] = self.keyring_file
        else:
            self.keyring_file = doc["audit"]["keyring_file"]
        service = build_service(policy_config.from_document(doc, data), clock=self.clock).start()
        channels = [
            channel_as(self.pki, n, service.port) for n in ("upstream", "approver", "operator")
        ]
        upstream, approver, operator = (policy_pb2_grpc.PolicyServiceStub(c) for c in channels)
        replica = Replica(service, upstream, approver, operator, channels)
        self.replicas.append(replica)
        return replica

    def open_switch(self) -> None:
        acknowledge(self.policy.operator)
        reopen(self.policy.operator, self.pki, self.policy.service.port)

    def approved(
        self, replica: Replica | None = None, qty: str = "1", limit: str = RESTING_BUY
    ) -> tuple[str, str]:
        preview_id = self.preview(replica, qty, limit)
        return preview_id, self.approve(preview_id, replica)

    def preview(
        self, replica: Replica | None = None, qty: str = "1", limit: str = RESTING_BUY
    ) -> str:
        r = replica or self.policy
        preview = r.upstream.CreateOrderPreview(
            policy_pb2.CreateOrderPreviewRequest(account_id=ACCOUNT, order=order_msg(qty, limit)),
            timeout=10,
        )
        return str(preview.preview_id)

    def approve(self, preview_id: str, replica: Replica | None = None) -> str:
        r = replica or self.policy
        approval = r.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=preview_id), timeout=10
        )
        return str(approval.approval_id)

    def submit(
        self,
        preview_id: str,
        approval_id: str,
        key: str | None = None,
        replica: Replica | None = None,
    ) -> policy_pb2.SubmitOrderResponse:
        r = replica or self.policy
        return r.upstream.SubmitOrder(
            policy_pb2.SubmitOrderRequest(
                account_id=ACCOUNT, preview_id=preview_id, approval_id=approval_id,
                idempotency_key=key or new_key(),
            ),
            timeout=15,
        )  # fmt: skip

    def broker_orders_with_ref(self, key: str) -> list[Any]:
        return [o for o in self.sim.orders() if o.order_ref == key]


def _start_writer(
    pki: Path,
    vault: DevVault,
    workdir: Path,
    sim: GatewaySimulator,
    overrides: dict[str, Any],
    accounts: tuple[str, ...],
    hash_key: str,
) -> WriterHandle:
    doc = writer_document(
        pki, vault, Role.W, workdir, gateway_port=sim.port, accounts=",".join(accounts),
        account_hash_key=hash_key, request_timeout_s=BROKER_TIMEOUT_S,
    )  # fmt: skip
    for dotted, value in overrides.items():
        set_path(doc, dotted, value)
    return start_writer(make_config(doc, workdir))


def _close_all(replicas: list[Replica]) -> None:
    for replica in replicas:
        replica.close()


@contextmanager
def live_stack(
    pki: Path,
    workdir: Path,
    vault: DevVault,
    db_url: str | None = None,
    replicas: int = 1,
    limits: dict[str, Any] | None = None,
    writer_overrides: dict[str, Any] | None = None,
    policy_overrides: dict[str, Any] | None = None,
    accounts: tuple[str, ...] = (ACCOUNT,),
    **policy: Any,
) -> Iterator[Stack]:
    """Start everything, open the kill switch, and tear it all down in reverse order."""
    with ExitStack() as cleanup:
        sim = start_sim(accounts=accounts)
        cleanup.callback(sim.stop)
        hash_key = secrets.token_hex(16)
        writer = _start_writer(pki, vault, workdir, sim, writer_overrides or {}, accounts, hash_key)
        stack = Stack(
            sim=sim, vault=vault, pki=pki, workdir=workdir,
            db_url=db_url or f"sqlite:///{workdir / 'policy.db'}", writer=writer, limits=limits,
            writer_overrides=writer_overrides or {}, policy_overrides=policy_overrides or {},
            accounts=accounts, _hash_key=hash_key,
            **policy,
        )  # fmt: skip
        cleanup.callback(lambda: stack.writer.stop())
        cleanup.callback(lambda: _close_all(stack.replicas))
        for _ in range(replicas):
            stack.add_replica()
        stack.open_switch()
        yield stack


MakeStack = Callable[..., Stack]


def stack_factory(
    cleanup: ExitStack, pki: Path, tmp_path: Path, vault: DevVault, **defaults: Any
) -> MakeStack:
    """make(**kwargs) -> a running stack in a workdir of its own under TMP_PATH, stopped when
    CLEANUP closes; DEFAULTS (live_stack's keywords) apply where the caller gives none. The
    e2e and risk fixtures that start several stacks in one test share it."""
    counter = iter(range(10))

    def make(**kwargs: Any) -> Stack:
        workdir = tmp_path / f"stack-{next(counter)}"
        workdir.mkdir()
        return cleanup.enter_context(live_stack(pki, workdir, vault, **(defaults | kwargs)))

    return make
