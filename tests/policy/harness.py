"""Builds a real policy service (mTLS, real database, fake writer) and drives it as clients."""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
import yaml

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_common.devconfig import policy_principals, tls_section
from livegate_common.errors import error_info
from livegate_common.pki import spiffe_id
from policy_service import config as policy_config
from policy_service.audit_keysource import ensure_dev_keyring
from policy_service.server import PolicyService, build_service
from tests.policy.fake_writer import FAKE_BROKER_TIMEOUT_S, RunningFakeWriter
from tests.support.grpc_clients import channel_as, reopen

ACCOUNT = "U1234567"
OTHER_ACCOUNT = "U7654321"
POLICY_ID = "test-risk-v1"
LIMITS: dict[str, Any] = {
    "max_quantity": "500",
    "max_notional_per_order": "50000",
    "price_collar_bps": "100",
    "max_reference_age_s": "60",
    "allowed_sec_types": ["STOCK", "ETF"],
    "allowed_symbols": ["AAPL", "SPY", "MSFT"],
    "max_orders_per_minute": 1000,
    "max_open_orders": 200,
    "max_daily_notional": "1000000",
}
# For tests that count one audit event per refused call: no refusal folded into an interval's
# summary, none throttled (both tested with the defaults in tests/policy/test_audit_flood.py).
AUDIT_EVERY_REFUSAL = {"audit.refusal_interval_s": 0, "audit.refusal_limit_per_min": 0}
LIVE_WRITE_TABLES = ("idempotency_records", "open_orders", "account_usage")


class FakeClock:
    """Real time plus an offset the test moves forward."""

    def __init__(self, offset_s: float = 0.0):
        self.offset_us = int(offset_s * 1_000_000)

    def now_us(self) -> int:
        return time.time_ns() // 1000 + self.offset_us

    def advance(self, seconds: float) -> None:
        self.offset_us += int(seconds * 1_000_000)


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node = doc
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def policy_doc(
    pki: Path,
    data: Path,
    writer_port: int,
    db_url: str,
    limits: dict[str, Any] | None = None,
    broker_timeout_s: float = FAKE_BROKER_TIMEOUT_S,
    instruments: list[dict[str, Any]] | None = None,
    version: int = 1,
) -> dict[str, Any]:
    """BROKER_TIMEOUT_S: the writer's broker.request_timeout_s; the writer deadline and the
    pending timeout derive from it (the pending timeout is set longer, see below)."""
    data.mkdir(parents=True, exist_ok=True)
    policy_file = data / "risk.yaml"
    merged = {**LIMITS, **(limits or {})}
    body: dict[str, Any] = {"id": POLICY_ID, "version": version, "limits": merged}
    if instruments:
        body["instruments"] = instruments
    policy_file.write_text(yaml.safe_dump(body), encoding="utf-8")
    return {
        "instance_role": "W",
        "server": {"listen": "127.0.0.1:0", "tls": tls_section(pki, "policy")},
        "principals": policy_principals(),
        "live_trading": {
            "enabled": True,
            "allowed_accounts": [ACCOUNT],
            "risk_policy_id": POLICY_ID,
            "paper_to_live_checklist_acknowledged": True,
        },
        "safety": {"live_trading_enabled": True},
        "audit": {
            "retention_days": 2555,
            "export_dir": str(data / "exports"),
            "account_hash_key": secrets.token_hex(16),
            # Generated per service (0600); replicas of one chain are given the same file.
            "keyring_file": str(ensure_dev_keyring(data / "audit-keyring.json")),
        },
        "writer": {
            "address": f"localhost:{writer_port}",
            "expected_san": spiffe_id("writer"),
            "tls": tls_section(pki, "policy"),
            "broker_timeout_s": broker_timeout_s,
            "sync_interval_s": 0.5,
            # Off in effect: tests that compare the database before and after a call must not
            # see the periodic check change it; the tests of that check run it themselves.
            "open_orders_check_s": 3600,
        },
        "risk": {"policy_file": str(policy_file)},
        "storage": {"url": db_url, "data_dir": str(data)},
        "idempotency": {"pending_timeout_s": 30},
        # Off here: the fault tests make the database unwritable on purpose and go on writing
        # after it; tests/e2e/test_auto_stops.py turns it on (the shipped default).
        "auto_stops": {"audit_write_failure": {"enabled": False}},
    }


def order_msg(
    qty: str = "10",
    limit: str = "100.00",
    symbol: str = "AAPL",
    sec_type: common_pb2.SecType = common_pb2.SEC_TYPE_STOCK,
    action: common_pb2.Action = common_pb2.ACTION_BUY,
) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=common_pb2.Instrument(symbol=symbol, sec_type=sec_type),
        action=action,
        quantity=qty,
        order_type=common_pb2.ORDER_TYPE_LIMIT,
        limit_price=limit,
        time_in_force=common_pb2.TIME_IN_FORCE_DAY,
    )


def acknowledge(operator: policy_pb2_grpc.PolicyServiceStub) -> policy_pb2.ChecklistAcknowledgement:
    """The operator's walk-through of the paper-to-live checklist, for the deployed policy."""
    digest = operator.GetLiveStatus(
        policy_pb2.GetLiveStatusRequest(), timeout=10
    ).risk_policy_digest
    return operator.AcknowledgeChecklist(
        policy_pb2.AcknowledgeChecklistRequest(risk_policy_digest=digest, note="test"), timeout=10
    )


def new_key() -> str:
    return f"k-{uuid.uuid4().hex}"


def reason_of(err: grpc.RpcError) -> str:
    info = error_info(err)
    return info.reason if info else ""


def meta_of(err: grpc.RpcError) -> dict[str, str]:
    info = error_info(err)
    return dict(info.metadata) if info else {}


@dataclass
class Harness:
    service: PolicyService
    clock: FakeClock
    writer: RunningFakeWriter
    db_url: str
    pki: Path
    channels: list[grpc.Channel] = field(default_factory=list)

    def stub(self, identity: str) -> policy_pb2_grpc.PolicyServiceStub:
        channel = channel_as(self.pki, identity, self.service.port)
        self.channels.append(channel)
        return policy_pb2_grpc.PolicyServiceStub(channel)

    def __post_init__(self) -> None:
        self.upstream = self.stub("upstream")
        self.approver = self.stub("approver")
        self.operator = self.stub("operator")
        self.operator2 = self.stub("operator2")
        self.engine = sa.create_engine(self.db_url, poolclass=sa.pool.NullPool)

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
        self.engine.dispose()
        self.service.stop(0.2)

    # ---- flows ----------------------------------------------------------------------------

    def open_switch(self) -> policy_pb2.SetKillSwitchResponse:
        acknowledge(self.operator)
        return reopen(self.operator, self.pki, self.service.port)

    def preview(
        self, order: common_pb2.Order | None = None, account: str = ACCOUNT
    ) -> policy_pb2.Preview:
        return self.upstream.CreateOrderPreview(
            policy_pb2.CreateOrderPreviewRequest(account_id=account, order=order or order_msg())
        )

    def approve(self, preview_id: str) -> policy_pb2.Approval:
        return self.approver.ApprovePreview(policy_pb2.ApprovePreviewRequest(preview_id=preview_id))

    def approved(self, order: common_pb2.Order | None = None) -> tuple[str, str]:
        preview = self.preview(order)
        return preview.preview_id, self.approve(preview.preview_id).approval_id

    def submit(
        self,
        preview_id: str,
        approval_id: str,
        key: str | None = None,
        account: str = ACCOUNT,
        stub: policy_pb2_grpc.PolicyServiceStub | None = None,
    ) -> policy_pb2.SubmitOrderResponse:
        return (stub or self.upstream).SubmitOrder(
            policy_pb2.SubmitOrderRequest(
                account_id=account,
                preview_id=preview_id,
                approval_id=approval_id,
                idempotency_key=key or new_key(),
            )
        )

    def bracket_preview(
        self, take_profit: str = "100.50", stop_loss: str = "99.50"
    ) -> policy_pb2.BracketPreview:
        return self.upstream.CreateBracketPreview(
            policy_pb2.CreateBracketPreviewRequest(
                account_id=ACCOUNT,
                instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
                action=common_pb2.ACTION_BUY,
                quantity="10",
                entry_limit_price="100.00",
                take_profit_price=take_profit,
                stop_loss_price=stop_loss,
                time_in_force=common_pb2.TIME_IN_FORCE_DAY,
            )
        )

    # ---- database views -------------------------------------------------------------------

    def rows(self, table: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            query = sa.select(sa.text("*")).select_from(sa.table(table))
            return [dict(r._mapping) for r in conn.execute(query)]

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(sa.table(table))
            return int(conn.execute(query).scalar_one())

    def snapshot(self) -> dict[str, Any]:
        """Everything a refused write must leave untouched (audit excluded)."""
        snap: dict[str, Any] = {t: self.rows(t) for t in LIVE_WRITE_TABLES}
        snap["approvals"] = sorted(
            (a["approval_id"], a["reserved_key"], a["consumed_at_us"])
            for a in self.rows("approvals")
        )
        return snap

    def last_audit(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT * FROM audit_events ORDER BY event_id DESC LIMIT 1")
            ).one()
        return dict(row._mapping)


@contextmanager
def built(
    pki: Path,
    data: Path,
    writer: RunningFakeWriter,
    db_url: str,
    overrides: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    clock: FakeClock | None = None,
) -> Iterator[Harness]:
    doc = policy_doc(pki, data, writer.port, db_url, limits)
    for dotted, value in (overrides or {}).items():
        set_path(doc, dotted, copy.deepcopy(value))
    config = policy_config.from_document(doc, data)
    clock = clock or FakeClock()
    service = build_service(config, clock=clock).start()
    harness = Harness(service, clock, writer, db_url, pki)
    try:
        yield harness
    finally:
        harness.close()
