"""Orders and their preview / approve / submit through a stack replica, for the risk tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import meta_of, new_key, reason_of
from tests.support.stack import Replica, Stack
from tests.support.writers import ACCOUNT

BUY, SELL = common_pb2.ACTION_BUY, common_pb2.ACTION_SELL


def stock(symbol: str = "AAPL") -> common_pb2.Instrument:
    return common_pb2.Instrument(symbol=symbol, sec_type=common_pb2.SEC_TYPE_STOCK)


def future(symbol: str = "ES", expiry: str = "20261218") -> common_pb2.Instrument:
    return common_pb2.Instrument(
        symbol=symbol, sec_type=common_pb2.SEC_TYPE_FUTURE, exchange="CME", expiry=expiry
    )


def limit(
    qty: str, price: str, ins: common_pb2.Instrument | None = None, action: int = BUY, **kw: Any
) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=ins or stock(), action=action, quantity=qty,  # type: ignore[arg-type]
        order_type=common_pb2.ORDER_TYPE_LIMIT, limit_price=price,
        time_in_force=common_pb2.TIME_IN_FORCE_DAY, **kw,
    )  # fmt: skip


def market(
    qty: str, ins: common_pb2.Instrument | None = None, action: int = BUY
) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=ins or stock(), action=action, quantity=qty,  # type: ignore[arg-type]
        order_type=common_pb2.ORDER_TYPE_MARKET, time_in_force=common_pb2.TIME_IN_FORCE_DAY,
    )  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """A submit's answer: the broker order, or the refusal's reason, step and numbers."""

    order: common_pb2.BrokerOrder | None
    reason: str = ""
    meta: dict[str, str] | None = None
    preview: policy_pb2.Preview | None = None

    @property
    def step(self) -> str:
        return (self.meta or {}).get("gate_step", "")


def preview(
    stack: Stack, order: common_pb2.Order, replica: Replica | None = None, **kw: Any
) -> policy_pb2.Preview:
    r = replica or stack.policy
    return r.upstream.CreateOrderPreview(
        policy_pb2.CreateOrderPreviewRequest(account_id=ACCOUNT, order=order, **kw), timeout=15
    )


def approve(stack: Stack, preview_id: str, replica: Replica | None = None) -> str:
    r = replica or stack.policy
    return r.approver.ApprovePreview(
        policy_pb2.ApprovePreviewRequest(preview_id=preview_id), timeout=15
    ).approval_id


def submit(
    stack: Stack,
    order: common_pb2.Order,
    replica: Replica | None = None,
    key: str | None = None,
    **kw: Any,
) -> Outcome:
    """Preview, approve and submit ORDER; the broker order, or the refusal."""
    p = preview(stack, order, replica, **kw)
    return submit_approved(stack, p, approve(stack, p.preview_id, replica), replica, key)


def submit_approved(
    stack: Stack,
    p: policy_pb2.Preview,
    approval_id: str,
    replica: Replica | None = None,
    key: str | None = None,
) -> Outcome:
    try:
        reply = stack.submit(p.preview_id, approval_id, key or new_key(), replica)
    except grpc.RpcError as err:
        return Outcome(None, reason_of(err), meta_of(err), p)
    return Outcome(reply.order, preview=p)


def check(p: policy_pb2.Preview, name: str) -> policy_pb2.LimitCheck:
    [found] = [c for c in p.checks if c.name == name]
    return found
