"""A real policy service (mTLS, SQLite or PostgreSQL, fake writer) seeded with real ids."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from tests.fuzz.strategies import ACCOUNT, FRESH, FRESH_APPROVAL, FRESH_PREVIEW
from tests.policy.fake_writer import start_fake_writer
from tests.policy.harness import AUDIT_EVERY_REFUSAL, LIVE_WRITE_TABLES, Harness, built

# What a close (and a reopen) may change besides the approvals it revokes.
SWITCH_TABLES = (
    "kill_switch",
    "kill_switch_history",
    "kill_switch_reopens",
    "scoped_stops",
    "principal_leases",
)

IDENTITIES = ("upstream", "approver", "operator", "operator2")


@dataclass
class PolicyTarget:
    """The service under fuzz and the ids it really issued, so fuzzed calls reach later steps."""

    harness: Harness
    backend: str
    previews: list[str] = field(default_factory=list)
    approvals: list[str] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    # (parent, take-profit, stop-loss) previews and their approvals, in leg order.
    bracket: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    # The modify preview of orders[0] (quantity -> 5) and its approval.
    modify: tuple[str, str] = ("", "")

    def stub(self, identity: str) -> policy_pb2_grpc.PolicyServiceStub:
        return {
            "upstream": self.harness.upstream,
            "approver": self.harness.approver,
            "operator": self.harness.operator,
            "operator2": self.harness.operator2,
        }[identity]

    def state(self) -> dict[str, Any]:
        """Every table but the audit log, in full: a refusal must leave all of it as it was."""
        h = self.harness
        snap: dict[str, Any] = {t: h.rows(t) for t in LIVE_WRITE_TABLES}
        for table in ("previews", "approvals", *SWITCH_TABLES):
            snap[table] = h.rows(table)
        snap["audit_exports"] = h.count("audit_exports")
        return snap

    def audit_count(self) -> int:
        with self.harness.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one())

    def last_audit(self) -> dict[str, Any]:
        return self.harness.last_audit()

    def fresh(self, request: Any) -> Any:
        """Replace FRESH_* placeholders with ids issued now: unconsumed, so later steps run."""
        wanted = {getattr(request, f.name) for f in request.DESCRIPTOR.fields} & set(FRESH)
        if not wanted:
            return request
        h = self.harness
        if wanted & {FRESH_PREVIEW, FRESH_APPROVAL}:
            ids = dict(zip((FRESH_PREVIEW, FRESH_APPROVAL), h.approved(), strict=True))
        else:
            legs = h.bracket_preview()
            previews = [leg.preview_id for leg in (legs.parent, legs.take_profit, legs.stop_loss)]
            approvals = [h.approve(p).approval_id for p in previews]
            ids = dict(zip(FRESH[2:], previews + approvals, strict=True))
        for f in request.DESCRIPTOR.fields:
            value = getattr(request, f.name)
            if isinstance(value, str) and value in ids:
                setattr(request, f.name, ids[value])
        return request

    def set_switch(self, open_: bool) -> None:
        current = self.harness.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=5)
        wanted = common_pb2.KILL_SWITCH_STATE_OPEN if open_ else common_pb2.KILL_SWITCH_STATE_CLOSED
        if current.state != wanted and open_:
            self.harness.open_switch()  # the guarded reopen: a second operator confirms
        elif current.state != wanted:
            self.harness.operator.SetKillSwitch(
                policy_pb2.SetKillSwitchRequest(state=wanted, reason="fuzz arrange"), timeout=5
            )


def _seed(target: PolicyTarget) -> None:
    """Two approved previews, an approved bracket, an order at the writer and its modify."""
    h = target.harness
    h.open_switch()
    for _ in range(2):
        preview_id, approval_id = h.approved()
        target.previews.append(preview_id)
        target.approvals.append(approval_id)
    placed = h.submit(target.previews[-1], target.approvals[-1])
    target.orders.append(placed.order.broker_order_id)
    legs = h.bracket_preview()
    bracket = [leg.preview_id for leg in (legs.parent, legs.take_profit, legs.stop_loss)]
    approvals = [h.approve(p).approval_id for p in bracket]
    target.bracket = (tuple(bracket), tuple(approvals))
    target.previews += bracket
    target.approvals += approvals
    modify = h.upstream.CreateModifyPreview(
        policy_pb2.CreateModifyPreviewRequest(
            account_id=ACCOUNT,
            broker_order_id=target.orders[0],
            changes=common_pb2.OrderChanges(quantity="5"),
        )
    )
    target.modify = (modify.preview_id, h.approve(modify.preview_id).approval_id)
    target.previews.append(target.modify[0])
    target.approvals.append(target.modify[1])


@contextmanager
def policy_target(pki: Path, workdir: Path, db_url: str, backend: str) -> Iterator[PolicyTarget]:
    writer = start_fake_writer(pki)
    try:
        # The checks here count one audit event per refused call.
        with built(pki, workdir / "data", writer, db_url, overrides=AUDIT_EVERY_REFUSAL) as harness:
            target = PolicyTarget(harness, backend)
            _seed(target)
            yield target
    finally:
        writer.stop()
