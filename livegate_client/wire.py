"""Conversion at the boundary: Decimal <-> plain decimal strings, enums, timestamps, messages."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from google.protobuf import timestamp_pb2

from livegate_api.v1 import common_pb2, policy_pb2
from livegate_client import models as m

E = TypeVar("E", bound=enum.Enum)


def decimal_out(value: Decimal | int, name: str) -> str:
    """A plain decimal string; floats are refused so binary rounding never reaches a price."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal (or an int), not {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{name} must be finite, got {number}")
    return format(number, "f")


def optional_decimal_out(value: Decimal | int | None, name: str) -> str:
    return "" if value is None else decimal_out(value, name)


def decimal_in(text: str) -> Decimal | None:
    """The server's decimal string; None when empty (unknown or not applicable)."""
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def enum_in(cls: type[E], number: int) -> E:
    """The client's member for a wire value; UNSPECIFIED for a value newer than this client."""
    try:
        return cls(number)
    except ValueError:
        return cls(0)


def time_in(ts: timestamp_pb2.Timestamp) -> dt.datetime | None:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=dt.UTC)


def time_out(when: dt.datetime) -> timestamp_pb2.Timestamp:
    if when.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC is assumed nowhere)")
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when.astimezone(dt.UTC))
    return ts


def instrument_out(i: m.Instrument) -> common_pb2.Instrument:
    return common_pb2.Instrument(
        symbol=i.symbol, sec_type=i.sec_type.value, exchange=i.exchange,  # type: ignore[arg-type]
        currency=i.currency, primary_exchange=i.primary_exchange,
    )  # fmt: skip


def order_out(o: m.Order) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=instrument_out(o.instrument),
        action=o.action.value,  # type: ignore[arg-type]
        quantity=decimal_out(o.quantity, "quantity"),
        order_type=o.order_type.value,  # type: ignore[arg-type]
        limit_price=optional_decimal_out(o.limit_price, "limit_price"),
        stop_price=optional_decimal_out(o.stop_price, "stop_price"),
        time_in_force=o.time_in_force.value,  # type: ignore[arg-type]
        outside_rth=o.outside_rth,
    )


def changes_out(c: m.OrderChanges) -> common_pb2.OrderChanges:
    msg = common_pb2.OrderChanges()
    if c.quantity is not None:
        msg.quantity = decimal_out(c.quantity, "quantity")
    if c.limit_price is not None:
        msg.limit_price = decimal_out(c.limit_price, "limit_price")
    if c.stop_price is not None:
        msg.stop_price = decimal_out(c.stop_price, "stop_price")
    if c.time_in_force is not None:
        msg.time_in_force = c.time_in_force.value  # type: ignore[assignment]
    return msg


def instrument_in(msg: common_pb2.Instrument) -> m.Instrument:
    return m.Instrument(
        symbol=msg.symbol, sec_type=enum_in(m.SecType, msg.sec_type), exchange=msg.exchange,
        currency=msg.currency, primary_exchange=msg.primary_exchange,
    )  # fmt: skip


def order_in(msg: common_pb2.Order) -> m.Order:
    return m.Order(
        instrument=instrument_in(msg.instrument),
        action=enum_in(m.Action, msg.action),
        quantity=decimal_in(msg.quantity) or Decimal(0),
        order_type=enum_in(m.OrderType, msg.order_type),
        limit_price=decimal_in(msg.limit_price),
        stop_price=decimal_in(msg.stop_price),
        time_in_force=enum_in(m.TimeInForce, msg.time_in_force),
        outside_rth=msg.outside_rth,
    )


def changes_in(msg: common_pb2.OrderChanges) -> m.OrderChanges:
    return m.OrderChanges(
        quantity=decimal_in(msg.quantity) if msg.HasField("quantity") else None,
        limit_price=decimal_in(msg.limit_price) if msg.HasField("limit_price") else None,
        stop_price=decimal_in(msg.stop_price) if msg.HasField("stop_price") else None,
        time_in_force=(
            enum_in(m.TimeInForce, msg.time_in_force) if msg.HasField("time_in_force") else None
        ),
    )


def preview_in(msg: policy_pb2.Preview) -> m.Preview:
    return m.Preview(
        preview_id=msg.preview_id,
        kind=enum_in(m.PreviewKind, msg.kind),
        account_id=msg.account_id,
        order=order_in(msg.order) if msg.HasField("order") else None,
        reference_price=decimal_in(msg.reference_price),
        estimated_notional=decimal_in(msg.estimated_notional),
        checks=tuple(
            m.LimitCheck(c.name, c.passed, c.reason, dict(c.metadata)) for c in msg.checks
        ),
        would_pass=msg.would_pass,
        risk_policy_id=msg.risk_policy_id,
        created_by=msg.created_by,
        created_at=time_in(msg.created_at),
        expires_at=time_in(msg.expires_at),
        broker_order_id=msg.broker_order_id,
        changes=changes_in(msg.changes) if msg.HasField("changes") else None,
        group_id=msg.group_id,
        leg=enum_in(m.BracketLeg, msg.leg),
        strategy=msg.strategy,
    )


def bracket_preview_in(msg: policy_pb2.BracketPreview) -> m.BracketPreview:
    return m.BracketPreview(
        msg.group_id, preview_in(msg.parent), preview_in(msg.take_profit), preview_in(msg.stop_loss)
    )


def approval_in(msg: policy_pb2.Approval) -> m.Approval:
    return m.Approval(
        msg.approval_id, msg.preview_id, msg.approved_by, time_in(msg.created_at),
        time_in(msg.expires_at),
    )  # fmt: skip


def broker_order_in(msg: common_pb2.BrokerOrder) -> m.BrokerOrder:
    return m.BrokerOrder(
        broker_order_id=msg.broker_order_id,
        perm_id=msg.perm_id,
        account_id=msg.account_id,
        order=order_in(msg.order) if msg.HasField("order") else None,
        status=msg.status,
        filled=decimal_in(msg.filled),
        remaining=decimal_in(msg.remaining),
        avg_fill_price=decimal_in(msg.avg_fill_price),
        order_ref=msg.order_ref,
        parent_id=msg.parent_id,
        oca_group=msg.oca_group,
        messages=tuple(m.BrokerMessage(x.code, x.message, x.broker_order_id) for x in msg.messages),
    )


def kill_switch_in(msg: common_pb2.KillSwitch) -> m.KillSwitch:
    return m.KillSwitch(
        state=enum_in(m.KillSwitchState, msg.state), reason=msg.reason,
        changed_by=msg.changed_by, changed_at=time_in(msg.changed_at), version=msg.version,
        pending_reopen=reopen_in(msg.pending_reopen) if msg.HasField("pending_reopen") else None,
    )  # fmt: skip


def reopen_in(msg: common_pb2.ReopenRequest) -> m.ReopenRequest:
    return m.ReopenRequest(
        reopen_id=msg.reopen_id, requested_by=msg.requested_by, reason=msg.reason,
        request_id=msg.request_id, requested_at=time_in(msg.requested_at),
        expires_at=time_in(msg.expires_at), switch_version=msg.switch_version,
        target_state=enum_in(m.KillSwitchState, msg.target_state),
    )  # fmt: skip


def kill_switch_change_in(msg: policy_pb2.SetKillSwitchResponse) -> m.KillSwitchChange:
    return m.KillSwitchChange(
        kill_switch=kill_switch_in(msg.kill_switch),
        writer_synced=msg.writer_synced,
        writer_state=enum_in(m.WriterSwitchState, msg.writer_state),
        cancelled_orders=msg.cancelled_orders,
        audit_event_id=msg.audit_event_id,
        writer_in_flight=tuple(
            m.InFlightWrite(w.request_id, w.operation, w.idempotency_key, w.broker_order_id)
            for w in msg.writer_in_flight
        ),
    )


def live_status_in(msg: policy_pb2.LiveStatus) -> m.LiveStatus:
    return m.LiveStatus(
        live_enabled=msg.live_enabled,
        conditions=tuple(m.EnablementCondition(c.name, c.passed, c.detail) for c in msg.conditions),
        kill_switch=kill_switch_in(msg.kill_switch) if msg.HasField("kill_switch") else None,
        risk_policy_id=msg.risk_policy_id,
    )


def lease_in(msg: policy_pb2.Lease) -> m.Lease:
    return m.Lease(
        principal=msg.principal, state=enum_in(m.LeaseState, msg.state), ttl_s=msg.ttl_s,
        renewed_at=time_in(msg.renewed_at), expires_at=time_in(msg.expires_at),
        claimed_by=msg.claimed_by, scope_closed_at=time_in(msg.scope_closed_at),
        stopped_at=time_in(msg.stopped_at), released_at=time_in(msg.released_at),
        attempts=msg.attempts,
    )  # fmt: skip


def audit_event_in(e: policy_pb2.AuditEvent) -> m.AuditEvent:
    return m.AuditEvent(
        event_id=e.event_id, occurred_at=time_in(e.occurred_at), method=e.method,
        request_id=e.request_id, principal=e.principal, account_id_hash=e.account_id_hash,
        preview_id=e.preview_id, approval_id=e.approval_id, idempotency_key=e.idempotency_key,
        broker_order_id=e.broker_order_id,
        kill_switch_state=enum_in(m.KillSwitchState, e.kill_switch_state),
        risk_policy_id=e.risk_policy_id, outcome=e.outcome, status_code=e.status_code,
        reason=e.reason, gate_step=e.gate_step, detail=dict(e.detail), prev_hash=e.prev_hash,
        hash=e.hash,
    )  # fmt: skip


def audit_page_in(msg: policy_pb2.ListAuditEventsResponse) -> m.AuditPage:
    return m.AuditPage(tuple(audit_event_in(e) for e in msg.events), msg.next_after_event_id)


def verification_in(msg: policy_pb2.VerifyAuditResponse) -> m.AuditVerification:
    return m.AuditVerification(
        msg.ok, msg.events_checked, msg.first_bad_event_id, msg.problem, msg.head_hash,
        msg.purged_through_event_id,
    )  # fmt: skip


def export_in(msg: policy_pb2.ExportAuditResponse) -> m.AuditExport:
    return m.AuditExport(
        msg.export_id, msg.path, msg.manifest_path, msg.first_event_id, msg.last_event_id,
        msg.event_count, msg.sha256,
    )  # fmt: skip


def purge_in(msg: policy_pb2.PurgeAuditResponse) -> m.AuditPurge:
    return m.AuditPurge(
        msg.purged_count, msg.purged_through_event_id, msg.export_id, msg.audit_event_id
    )
