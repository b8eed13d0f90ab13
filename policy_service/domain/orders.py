"""GetBrokerOrder: one order read back from the broker, for a caller of an allowed account."""

from __future__ import annotations

from livegate_common import scopes
from policy_service.domain import model as m
from policy_service.domain.denials import order_account_mismatch, scope_denial, writer_denial
from policy_service.domain.enablement import account_denial
from policy_service.domain.gate import Gate
from policy_service.domain.ports import WriterError

ORDERS_READ_SCOPE = scopes.ORDERS_READ
# The writer is asked at the forwarding step; a failure there is audited with it.
WRITER_STEP = 11


class OrderReads:
    def __init__(self, gate: Gate):
        self._gate = gate

    def get(self, call: m.Call, account_id: str, broker_order_id: int) -> m.BrokerOrder | m.Denial:
        gate = self._gate
        ids = {"account_id": account_id, "broker_order_id": broker_order_id}
        denial = scope_denial(call, ORDERS_READ_SCOPE) or account_denial(
            gate.settings, account_id, gate.account_hash(account_id)
        )
        if denial is not None:
            return gate.refuse(call, denial, **ids)
        try:
            order = gate.writer.get_order(account_id, broker_order_id=broker_order_id)
        except WriterError as err:
            return gate.refuse(call, writer_denial(err, WRITER_STEP), **ids)
        if order.account_id != account_id:
            return gate.refuse(call, order_account_mismatch(broker_order_id), **ids)
        return order
