"""Clients of one policy replica: approved previews made untimed, submits and switch flips timed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from tests.policy.harness import order_msg
from tests.support.grpc_clients import channel_as, reopen

# The simulator quotes AAPL 189.20/189.30: a buy limit at 189.00 rests, so every order stays open.
RESTING_BUY = "189.00"


@dataclass(frozen=True)
class Ticket:
    """One approved preview and the idempotency key its submit will carry."""

    preview_id: str
    approval_id: str
    key: str


class GateClient:
    def __init__(self, pki: Path, port: int, account: str):
        self._pki, self._port = pki, port
        self.account = account
        self._channels = [channel_as(pki, n, port) for n in ("upstream", "approver", "operator")]
        self.upstream, self.approver, self.operator = (
            policy_pb2_grpc.PolicyServiceStub(c) for c in self._channels
        )

    @property
    def port(self) -> int:
        return self._port

    @property
    def channel(self) -> grpc.Channel:
        """The upstream caller's mTLS channel to the policy service."""
        return self._channels[0]

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def ticket(self, _index: int = 0) -> Ticket:
        preview = self.upstream.CreateOrderPreview(
            policy_pb2.CreateOrderPreviewRequest(
                account_id=self.account, order=order_msg("1", RESTING_BUY)
            ),
            timeout=10,
        )
        approval = self.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id), timeout=10
        )
        return Ticket(preview.preview_id, approval.approval_id, f"bench-{uuid.uuid4().hex}")

    def tickets(self, count: int, threads: int = 16) -> list[Ticket]:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(self.ticket, range(count)))

    def submit(self, ticket: Ticket) -> policy_pb2.SubmitOrderResponse:
        return self.upstream.SubmitOrder(
            policy_pb2.SubmitOrderRequest(
                account_id=self.account,
                preview_id=ticket.preview_id,
                approval_id=ticket.approval_id,
                idempotency_key=ticket.key,
            ),
            timeout=15,
        )

    def set_switch(self, open_: bool, reason: str = "bench") -> policy_pb2.SetKillSwitchResponse:
        state = common_pb2.KILL_SWITCH_STATE_OPEN if open_ else common_pb2.KILL_SWITCH_STATE_CLOSED
        if open_:
            self.acknowledge()
            return reopen(self.operator, self._pki, self._port, reason)  # two operators
        return self.operator.SetKillSwitch(
            policy_pb2.SetKillSwitchRequest(state=state, reason=reason), timeout=10
        )

    def acknowledge(self) -> None:
        """The operator's checklist acknowledgement: writes need one for the deployed policy."""
        status = self.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
        self.operator.AcknowledgeChecklist(
            policy_pb2.AcknowledgeChecklistRequest(
                risk_policy_digest=status.risk_policy_digest, note="bench"
            ),
            timeout=10,
        )

    def reuse_refused(self, ticket: Ticket) -> str:
        """Submit an already used approval under a fresh key; the refusal's reason (must refuse)."""
        from livegate_common.errors import error_info

        try:
            self.submit(Ticket(ticket.preview_id, ticket.approval_id, f"bench-{uuid.uuid4().hex}"))
        except grpc.RpcError as err:
            info = error_info(err)
            return info.reason if info else str(err.code())
        return "ACCEPTED"


def split(items: Sequence[Ticket], parts: int) -> list[list[Ticket]]:
    return [list(items[i::parts]) for i in range(parts)]


class WriterDirect:
    """The writer alone, called as the policy service calls it: splits the gate's cost in two."""

    def __init__(self, pki: Path, port: int, account: str):
        from livegate_api.v1 import writer_pb2_grpc

        self.account = account
        self._channel = channel_as(pki, "policy", port)
        self._stub = writer_pb2_grpc.WriterServiceStub(self._channel)

    def submit(self, _index: int = 0) -> None:
        from livegate_api.v1 import writer_pb2

        self._stub.SubmitOrder(
            writer_pb2.WriterSubmitOrderRequest(
                request_id=uuid.uuid4().hex,
                account_id=self.account,
                order=order_msg("1", RESTING_BUY),
                idempotency_key=f"bench-w-{uuid.uuid4().hex}",
            ),
            timeout=15,
        )

    @property
    def channel(self) -> grpc.Channel:
        """The policy identity's mTLS channel to the writer, as the policy service holds it."""
        return self._channel

    def close(self) -> None:
        self._channel.close()
