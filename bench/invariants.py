"""After a throughput run: one broker order per key, no approval consumed twice, all recorded."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from bench.direct import DirectClient
from bench.gate import Ticket


@dataclass(frozen=True)
class Verdict:
    keys: int
    succeeded: int
    broker_orders: int
    keys_with_one_order: int
    keys_with_many_orders: int
    approvals_consumed: int
    approvals_in_two_records: int
    reuse_refusal: str

    @property
    def ok(self) -> bool:
        return (
            self.succeeded == self.keys
            and self.keys_with_one_order == self.keys
            and self.keys_with_many_orders == 0
            and self.approvals_consumed == self.keys
            and self.approvals_in_two_records == 0
            and self.reuse_refusal == "APPROVAL_CONSUMED"
        )

    def line(self) -> str:
        return (
            f"{'OK' if self.ok else 'VIOLATED'}: {self.succeeded}/{self.keys} keys SUCCEEDED, "
            f"{self.broker_orders} broker orders, {self.keys_with_one_order} keys with "
            f"exactly one, {self.keys_with_many_orders} with more; "
            f"{self.approvals_consumed} approvals consumed, "
            f"{self.approvals_in_two_records} in two records; reuse -> {self.reuse_refusal}"
        )


def check(
    db_url: str, tickets: Sequence[Ticket], broker: DirectClient, reuse_refusal: str
) -> Verdict:
    keys = {t.key for t in tickets}
    approval_ids = {t.approval_id for t in tickets}
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            records = conn.execute(
                sa.text("SELECT idempotency_key, status, approval_ids FROM idempotency_records")
            ).all()
            consumed = conn.execute(
                sa.text(
                    "SELECT approval_id, reserved_key FROM approvals "
                    "WHERE consumed_at_us IS NOT NULL"
                )
            ).all()
    finally:
        engine.dispose()
    succeeded = sum(1 for r in records if r.idempotency_key in keys and r.status == "SUCCEEDED")
    uses = Counter(a for r in records for a in json.loads(r.approval_ids))
    ours = [c for c in consumed if c.approval_id in approval_ids]
    orders = broker.orders_by_ref(keys)
    return Verdict(
        keys=len(keys),
        succeeded=succeeded,
        broker_orders=sum(orders.values()),
        keys_with_one_order=sum(1 for k in keys if orders.get(k) == 1),
        keys_with_many_orders=sum(1 for k in keys if orders.get(k, 0) > 1),
        approvals_consumed=sum(1 for c in ours if c.reserved_key in keys),
        approvals_in_two_records=sum(1 for n in uses.values() if n > 1),
        reuse_refusal=reuse_refusal,
    )
