"""The upstream, approver and operator of a policy service that runs on a known port."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from tests.policy.harness import acknowledge, order_msg
from tests.support.grpc_clients import channel_as, reopen
from tests.support.stack import RESTING_BUY
from tests.support.writers import ACCOUNT


@dataclass
class PolicyClients:
    """Stubs by identity; the channels reconnect on their own when the server comes back."""

    upstream: policy_pb2_grpc.PolicyServiceStub
    approver: policy_pb2_grpc.PolicyServiceStub
    operator: policy_pb2_grpc.PolicyServiceStub
    channels: list[grpc.Channel] = field(default_factory=list)
    pki: Path | None = None
    port: int = 0

    @classmethod
    def connect(cls, pki: Path, port: int) -> PolicyClients:
        channels = [channel_as(pki, n, port) for n in ("upstream", "approver", "operator")]
        up, approver, operator = (policy_pb2_grpc.PolicyServiceStub(c) for c in channels)
        return cls(up, approver, operator, channels, pki, port)

    def close(self) -> None:
        for channel in self.channels:
            channel.close()

    def set_switch(
        self, state: common_pb2.KillSwitchState, reason: str = "test"
    ) -> policy_pb2.SetKillSwitchResponse:
        if state == common_pb2.KILL_SWITCH_STATE_OPEN:
            acknowledge(self.operator)  # a fresh service has no acknowledgement yet
            assert self.pki is not None
            return reopen(self.operator, self.pki, self.port, reason)  # two operators
        return self.operator.SetKillSwitch(
            policy_pb2.SetKillSwitchRequest(state=state, reason=reason), timeout=10
        )

    def approved(self, qty: str = "1", limit: str = RESTING_BUY) -> tuple[str, str]:
        preview = self.upstream.CreateOrderPreview(
            policy_pb2.CreateOrderPreviewRequest(account_id=ACCOUNT, order=order_msg(qty, limit)),
            timeout=10,
        )
        approval = self.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id), timeout=10
        )
        return preview.preview_id, approval.approval_id

    def submit(
        self, preview_id: str, approval_id: str, key: str, timeout_s: float = 15
    ) -> policy_pb2.SubmitOrderResponse:
        return self.upstream.SubmitOrder(
            policy_pb2.SubmitOrderRequest(
                account_id=ACCOUNT, preview_id=preview_id, approval_id=approval_id,
                idempotency_key=key,
            ),
            timeout=timeout_s,
        )  # fmt: skip
