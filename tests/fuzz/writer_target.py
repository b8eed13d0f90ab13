"""A real W writer (OpenBao credentials, simulator broker) under fuzz, called as the policy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from gateway_sim import GatewaySimulator
from livegate_api.v1 import common_pb2, writer_pb2, writer_pb2_grpc
from livegate_common.vault_layout import provision
from tests.fuzz.strategies import ACCOUNT, INT64_MAX
from tests.support.grpc_clients import channel_as
from tests.support.sim import start_sim
from tests.support.vault import DevVault, dev_vault
from tests.support.writers import make_config, writer_document
from writer_service.app import WriterHandle, start_writer
from writer_service.config import Role


@dataclass
class WriterTarget:
    handle: WriterHandle
    sim: GatewaySimulator
    channel: grpc.Channel
    policy: writer_pb2_grpc.WriterServiceStub
    orders: list[int] = field(default_factory=list)

    def seed(self) -> None:
        """Orders really at the broker, so fuzzed cancels, modifies and reads can find them."""
        self.set_switch(True)
        for n in range(3):
            placed = self.policy.SubmitOrder(
                writer_pb2.WriterSubmitOrderRequest(
                    request_id="seed",
                    account_id=ACCOUNT,
                    order=common_pb2.Order(
                        instrument=common_pb2.Instrument(
                            symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK
                        ),
                        action=common_pb2.ACTION_BUY,
                        quantity="10",
                        order_type=common_pb2.ORDER_TYPE_LIMIT,
                        limit_price="100.00",
                        time_in_force=common_pb2.TIME_IN_FORCE_DAY,
                    ),
                    idempotency_key=f"fz-seed-{n:04d}",
                ),
                timeout=10,
            )
            self.orders.append(placed.order.broker_order_id)
        self.barrier()

    def writes_at_broker(self) -> int:
        return len(self.sim.received_writes())

    def barrier(self) -> None:
        """A quote over the writer's one broker socket: everything sent before it has arrived.

        An accepted call may return before the simulator has read what it sent (a global
        cancel does not wait for answers); without this, that write would be counted against
        the next, refused, example.
        """
        self.policy.GetQuote(
            writer_pb2.GetQuoteRequest(
                instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK)
            ),
            timeout=10,
        )

    def set_switch(self, open_: bool) -> None:
        """Bring the writer's switch to OPEN or CLOSED as the policy would (a newer version)."""
        current = self.policy.GetKillSwitch(writer_pb2.WriterGetKillSwitchRequest(), timeout=5)
        wanted = common_pb2.KILL_SWITCH_STATE_OPEN if open_ else common_pb2.KILL_SWITCH_STATE_CLOSED
        if current.state == wanted:
            return
        self.policy.SetKillSwitch(
            writer_pb2.WriterSetKillSwitchRequest(
                state=wanted, reason="fuzz arrange", version=min(current.version + 1, INT64_MAX)
            ),
            timeout=5,
        )


@contextmanager
def writer_target(pki: Path, workdir: Path) -> Iterator[WriterTarget]:
    with dev_vault() as vault:
        yield from _with_vault(pki, workdir, vault)


def _with_vault(pki: Path, workdir: Path, vault: DevVault) -> Iterator[WriterTarget]:
    provision(vault.client())
    sim = start_sim()
    try:
        doc = writer_document(pki, vault, Role.W, workdir, gateway_port=sim.port)
        # Short broker waits keep a fuzzed call that does reach the broker quick.
        doc["broker"]["request_timeout_s"] = 2
        handle = start_writer(make_config(doc, workdir))
        channel = channel_as(pki, "policy", handle.port)
        try:
            target = WriterTarget(handle, sim, channel, writer_pb2_grpc.WriterServiceStub(channel))
            target.seed()
            yield target
        finally:
            channel.close()
            handle.stop()
    finally:
        sim.stop()
