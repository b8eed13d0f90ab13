"""A live desk for the broker's-truth tests: preview, approve, submit, and what each left."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import grpc
import sqlalchemy as sa

from livegate_api.v1 import common_pb2, policy_pb2
from livegate_common.errors import error_info
from tests.policy.harness import new_key, order_msg
from tests.support.stack import RESTING_BUY, Replica, Stack
from tests.support.writers import ACCOUNT


@dataclass(frozen=True)
class Answer:
    """What the policy said to a live write: the order, or the refusal with its metadata."""

    code: grpc.StatusCode
    reason: str
    metadata: dict[str, str]
    response: Any = None

    @property
    def ok(self) -> bool:
        return self.code == grpc.StatusCode.OK

    def message_codes(self) -> list[int]:
        if self.response is not None and self.response.HasField("order"):
            return [m.code for m in self.response.order.messages]
        return [int(m["code"]) for m in json.loads(self.metadata.get("broker_messages", "[]"))]


def answer_of(call: Any) -> Answer:
    try:
        response = call()
    except grpc.RpcError as err:
        info = error_info(err)
        reason = info.reason if info else ""
        return Answer(err.code(), reason, dict(info.metadata) if info else {})
    return Answer(grpc.StatusCode.OK, "", {}, response)


class Desk:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.engine = sa.create_engine(stack.db_url, poolclass=sa.pool.NullPool)

    @property
    def sim(self) -> Any:
        return self.stack.sim

    def approved(
        self,
        qty: str = "3",
        limit: str = RESTING_BUY,
        replica: Replica | None = None,
        account: str = ACCOUNT,
    ) -> tuple[str, str]:
        r = replica or self.stack.policy
        preview = r.upstream.CreateOrderPreview(
            policy_pb2.CreateOrderPreviewRequest(account_id=account, order=order_msg(qty, limit)),
            timeout=10,
        )
        return preview.preview_id, self._approve(preview.preview_id, r)

    def _approve(self, preview_id: str, replica: Replica | None = None) -> str:
        r = replica or self.stack.policy
        request = policy_pb2.ApprovePreviewRequest(preview_id=preview_id)
        return str(r.approver.ApprovePreview(request, timeout=10).approval_id)

    def submit(
        self,
        preview_id: str,
        approval_id: str,
        key: str,
        replica: Replica | None = None,
        account: str = ACCOUNT,
    ) -> Answer:
        r = replica or self.stack.policy
        request = policy_pb2.SubmitOrderRequest(
            account_id=account, preview_id=preview_id, approval_id=approval_id,
            idempotency_key=key,
        )  # fmt: skip
        return answer_of(lambda: r.upstream.SubmitOrder(request, timeout=15))

    def bracket_approved(self, account: str = ACCOUNT) -> tuple[list[str], list[str]]:
        """A bracket group around the simulator's AAPL quote, each leg approved."""
        group = self.stack.policy.upstream.CreateBracketPreview(
            policy_pb2.CreateBracketPreviewRequest(
                account_id=account,
                instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
                action=common_pb2.ACTION_BUY, quantity="2", entry_limit_price=RESTING_BUY,
                take_profit_price="190.00", stop_loss_price="188.00",
                time_in_force=common_pb2.TIME_IN_FORCE_DAY,
            ),
            timeout=10,
        )  # fmt: skip
        previews = [p.preview_id for p in (group.parent, group.take_profit, group.stop_loss)]
        return previews, [self._approve(p) for p in previews]

    def bracket(
        self, previews: list[str], approvals: list[str], key: str, account: str = ACCOUNT
    ) -> Answer:
        request = policy_pb2.SubmitBracketRequest(
            account_id=account,
            parent_preview_id=previews[0], take_profit_preview_id=previews[1],
            stop_loss_preview_id=previews[2], parent_approval_id=approvals[0],
            take_profit_approval_id=approvals[1], stop_loss_approval_id=approvals[2],
            idempotency_key=key,
        )  # fmt: skip
        return answer_of(lambda: self.stack.policy.upstream.SubmitBracket(request, timeout=15))

    def cancel(self, broker_order_id: int, key: str | None = None) -> Answer:
        request = policy_pb2.CancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=broker_order_id, idempotency_key=key or new_key()
        )
        return answer_of(lambda: self.stack.policy.upstream.CancelOrder(request, timeout=15))

    def modify(self, broker_order_id: int, **changes: str) -> Answer:
        """A modify preview, its approval and the modify, with the approval id in metadata."""
        r = self.stack.policy
        wanted = common_pb2.OrderChanges(**changes)
        preview = r.upstream.CreateModifyPreview(
            policy_pb2.CreateModifyPreviewRequest(
                account_id=ACCOUNT, broker_order_id=broker_order_id, changes=wanted
            ),
            timeout=10,
        )
        approval = r.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id), timeout=10
        )
        request = policy_pb2.ModifyOrderRequest(
            account_id=ACCOUNT, broker_order_id=broker_order_id,
            approval_id=approval.approval_id, preview_id=preview.preview_id,
            idempotency_key=new_key(), changes=wanted,
        )  # fmt: skip
        found = answer_of(lambda: r.upstream.ModifyOrder(request, timeout=15))
        return Answer(
            found.code, found.reason, {**found.metadata, "approval_id": approval.approval_id},
            found.response,
        )  # fmt: skip

    # ---- what the write left -----------------------------------------------------------

    def key_state(self, key: str) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT status FROM idempotency_records WHERE idempotency_key = :k"),
                {"k": key},
            ).first()
        return str(row.status) if row else "NONE"

    def approval_state(self, approval_id: str) -> str:
        """consumed, reserved (by a key in doubt) or free (never used, or released)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT reserved_key, consumed_at_us FROM approvals WHERE approval_id = :a"
                ),
                {"a": approval_id},
            ).one()
        if row.consumed_at_us is not None:
            return "consumed"
        return "reserved" if row.reserved_key is not None else "free"

    def broker_orders(self, key: str) -> list[Any]:
        return self.stack.broker_orders_with_ref(key)

    def working(self, key: str) -> list[Any]:
        return [o for o in self.broker_orders(key) if o.is_working]

    def event_messages(self, key: str) -> list[dict[str, Any]]:
        """The broker's messages in the audit event that decided KEY (its last one)."""
        with self.engine.connect() as conn:
            detail = conn.execute(
                sa.text(
                    "SELECT detail FROM audit_events WHERE idempotency_key = :k "
                    "ORDER BY event_id DESC LIMIT 1"
                ),
                {"k": key},
            ).scalar_one()
        fields = json.loads(detail) if isinstance(detail, str) else dict(detail)
        return list(json.loads(fields.get("broker_messages", "[]")))
