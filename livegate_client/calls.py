"""One CallSpec per PolicyService call: the request, built once, and how to read its answer.

Sync and asyncio clients run the same specs. A write's key is fixed here, before any attempt:
the caller's, or one new key for this logical call; the retry loop only ever resends SPEC.request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from livegate_api.v1 import policy_pb2
from livegate_client import models as m
from livegate_client import wire
from livegate_client.keys import checked_key, new_key, new_request_id

T = TypeVar("T")


@dataclass(frozen=True)
class Sent:
    """What the attempts of one call had in common, and how many there were."""

    request_id: str
    idempotency_key: str
    attempts: int


@dataclass(frozen=True)
class CallSpec(Generic[T]):
    method: str  # the PolicyService method
    request: Message  # sent unchanged by every attempt
    parse: Callable[[Any, Sent], T]
    # Safe to send again: a write (its key makes a repeat a replay) or a read. Previews,
    # approvals and operator actions are not: a second approval of one preview is a second
    # order's worth of permission.
    retry: bool
    idempotency_key: str = ""
    request_id: str = field(default_factory=new_request_id)


def _key(given: str | None) -> str:
    return new_key() if given is None else checked_key(given)


def _plain(convert: Callable[[Any], T]) -> Callable[[Any, Sent], T]:
    return lambda response, _sent: convert(response)


def _write_result(response: Any, sent: Sent) -> m.WriteResult:
    return m.WriteResult(
        order=wire.broker_order_in(response.order),
        replayed=response.replayed,
        audit_event_id=response.audit_event_id,
        idempotency_key=sent.idempotency_key,
        request_id=sent.request_id,
        attempts=sent.attempts,
    )


def _bracket_result(response: policy_pb2.SubmitBracketResponse, sent: Sent) -> m.BracketResult:
    return m.BracketResult(
        parent=wire.broker_order_in(response.parent),
        take_profit=wire.broker_order_in(response.take_profit),
        stop_loss=wire.broker_order_in(response.stop_loss),
        replayed=response.replayed,
        audit_event_id=response.audit_event_id,
        idempotency_key=sent.idempotency_key,
        request_id=sent.request_id,
        attempts=sent.attempts,
    )


# ---- previews and approvals (one attempt) ----------------------------------------------------


def create_order_preview(
    account_id: str, order: m.Order, strategy: str = ""
) -> CallSpec[m.Preview]:
    request = policy_pb2.CreateOrderPreviewRequest(
        account_id=account_id, order=wire.order_out(order), strategy=strategy
    )
    return CallSpec("CreateOrderPreview", request, _plain(wire.preview_in), retry=False)


def create_modify_preview(
    account_id: str, broker_order_id: int, changes: m.OrderChanges, strategy: str = ""
) -> CallSpec[m.Preview]:
    request = policy_pb2.CreateModifyPreviewRequest(
        account_id=account_id, broker_order_id=broker_order_id,
        changes=wire.changes_out(changes), strategy=strategy,
    )  # fmt: skip
    return CallSpec("CreateModifyPreview", request, _plain(wire.preview_in), retry=False)


def create_bracket_preview(
    account_id: str,
    instrument: m.Instrument,
    action: m.Action,
    quantity: Decimal,
    entry_limit_price: Decimal,
    take_profit_price: Decimal,
    stop_loss_price: Decimal,
    time_in_force: m.TimeInForce = m.TimeInForce.DAY,
    strategy: str = "",
) -> CallSpec[m.BracketPreview]:
    request = policy_pb2.CreateBracketPreviewRequest(
        account_id=account_id,
        instrument=wire.instrument_out(instrument),
        action=action.value,  # type: ignore[arg-type]
        quantity=wire.decimal_out(quantity, "quantity"),
        entry_limit_price=wire.decimal_out(entry_limit_price, "entry_limit_price"),
        take_profit_price=wire.decimal_out(take_profit_price, "take_profit_price"),
        stop_loss_price=wire.decimal_out(stop_loss_price, "stop_loss_price"),
        time_in_force=time_in_force.value,  # type: ignore[arg-type]
        strategy=strategy,
    )
    return CallSpec("CreateBracketPreview", request, _plain(wire.bracket_preview_in), retry=False)


def approve_preview(preview_id: str, comment: str = "") -> CallSpec[m.Approval]:
    request = policy_pb2.ApprovePreviewRequest(preview_id=preview_id, comment=comment)
    return CallSpec("ApprovePreview", request, _plain(wire.approval_in), retry=False)


# ---- live writes (retried with their one key) -----------------------------------------------


def submit_order(
    account_id: str,
    preview_id: str,
    approval_id: str,
    idempotency_key: str | None,
    strategy: str = "",
) -> CallSpec[m.WriteResult]:
    """STRATEGY: the preview's tag; the policy refuses another (STRATEGY_MISMATCH)."""
    key = _key(idempotency_key)
    request = policy_pb2.SubmitOrderRequest(
        account_id=account_id, preview_id=preview_id, approval_id=approval_id,
        idempotency_key=key, strategy=strategy,
    )  # fmt: skip
    return CallSpec("SubmitOrder", request, _write_result, retry=True, idempotency_key=key)


def cancel_order(
    account_id: str, broker_order_id: int, idempotency_key: str | None
) -> CallSpec[m.WriteResult]:
    key = _key(idempotency_key)
    request = policy_pb2.CancelOrderRequest(
        account_id=account_id, broker_order_id=broker_order_id, idempotency_key=key
    )
    return CallSpec("CancelOrder", request, _write_result, retry=True, idempotency_key=key)


def modify_order(
    account_id: str,
    broker_order_id: int,
    preview_id: str,
    approval_id: str,
    changes: m.OrderChanges,
    idempotency_key: str | None,
    strategy: str = "",
) -> CallSpec[m.WriteResult]:
    key = _key(idempotency_key)
    request = policy_pb2.ModifyOrderRequest(
        account_id=account_id, broker_order_id=broker_order_id, approval_id=approval_id,
        preview_id=preview_id, idempotency_key=key, changes=wire.changes_out(changes),
        strategy=strategy,
    )  # fmt: skip
    return CallSpec("ModifyOrder", request, _write_result, retry=True, idempotency_key=key)


def submit_bracket(
    account_id: str,
    preview: m.BracketPreview,
    approval_ids: tuple[str, str, str],
    idempotency_key: str | None,
) -> CallSpec[m.BracketResult]:
    """APPROVAL_IDS: of the parent, take-profit and stop-loss legs, in that order. The strategy
    tag is the preview group's, as the policy requires."""
    key = _key(idempotency_key)
    request = policy_pb2.SubmitBracketRequest(
        account_id=account_id,
        parent_preview_id=preview.parent.preview_id,
        take_profit_preview_id=preview.take_profit.preview_id,
        stop_loss_preview_id=preview.stop_loss.preview_id,
        parent_approval_id=approval_ids[0],
        take_profit_approval_id=approval_ids[1],
        stop_loss_approval_id=approval_ids[2],
        idempotency_key=key,
        strategy=preview.parent.strategy,
    )
    return CallSpec("SubmitBracket", request, _bracket_result, retry=True, idempotency_key=key)


# ---- reads (retried: sending them twice changes nothing) ------------------------------------


def get_broker_order(account_id: str, broker_order_id: int) -> CallSpec[m.BrokerOrder]:
    request = policy_pb2.GetBrokerOrderRequest(
        account_id=account_id, broker_order_id=broker_order_id
    )
    return CallSpec(
        "GetBrokerOrder", request, _plain(lambda r: wire.broker_order_in(r.order)), retry=True
    )


def get_kill_switch() -> CallSpec[m.KillSwitch]:
    request = policy_pb2.GetKillSwitchRequest()
    return CallSpec("GetKillSwitch", request, _plain(wire.kill_switch_in), retry=True)


def get_live_status() -> CallSpec[m.LiveStatus]:
    request = policy_pb2.GetLiveStatusRequest()
    return CallSpec("GetLiveStatus", request, _plain(wire.live_status_in), retry=True)


def list_audit_events(
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    request_id: str = "",
    idempotency_key: str = "",
    page_size: int = 0,
    after_event_id: int = 0,
) -> CallSpec[m.AuditPage]:
    request = policy_pb2.ListAuditEventsRequest(
        request_id=request_id, idempotency_key=idempotency_key, page_size=page_size,
        after_event_id=after_event_id,
    )  # fmt: skip
    if since is not None:
        request.since.CopyFrom(wire.time_out(since))
    if until is not None:
        request.until.CopyFrom(wire.time_out(until))
    return CallSpec("ListAuditEvents", request, _plain(wire.audit_page_in), retry=True)


def verify_audit() -> CallSpec[m.AuditVerification]:
    request = policy_pb2.VerifyAuditRequest()
    return CallSpec("VerifyAudit", request, _plain(wire.verification_in), retry=True)


# ---- the caller's dead-man lease (retried: a renewal sent twice only renews again) ---------


def renew_lease(ttl_s: float) -> CallSpec[m.Lease]:
    request = policy_pb2.RenewLeaseRequest(ttl_s=ttl_s)
    return CallSpec("RenewLease", request, _plain(wire.lease_in), retry=True)


def release_lease() -> CallSpec[m.Lease]:
    request = policy_pb2.ReleaseLeaseRequest()
    return CallSpec("ReleaseLease", request, _plain(wire.lease_in), retry=True)


# ---- operator actions (one attempt) ---------------------------------------------------------


def set_kill_switch(
    state: m.KillSwitchState,
    reason: str,
    cancel_all_open_orders: bool = False,
    broker_wide_cancel: bool = False,
) -> CallSpec[m.KillSwitchChange]:
    request = policy_pb2.SetKillSwitchRequest(
        state=state.value,  # type: ignore[arg-type]
        reason=reason,
        cancel_all_open_orders=cancel_all_open_orders,
        broker_wide_cancel=broker_wide_cancel,
    )
    return CallSpec("SetKillSwitch", request, _plain(wire.kill_switch_change_in), retry=False)


def confirm_reopen(reopen_id: str, reason: str) -> CallSpec[m.KillSwitchChange]:
    request = policy_pb2.ConfirmReopenRequest(reopen_id=reopen_id, reason=reason)
    return CallSpec("ConfirmReopen", request, _plain(wire.kill_switch_change_in), retry=False)


def export_audit(until: dt.datetime | None = None) -> CallSpec[m.AuditExport]:
    request = policy_pb2.ExportAuditRequest()
    if until is not None:
        request.until.CopyFrom(wire.time_out(until))
    return CallSpec("ExportAudit", request, _plain(wire.export_in), retry=False)


def purge_audit(before: dt.datetime, dry_run: bool = False) -> CallSpec[m.AuditPurge]:
    request = policy_pb2.PurgeAuditRequest(before=wire.time_out(before), dry_run=dry_run)
    return CallSpec("PurgeAudit", request, _plain(wire.purge_in), retry=False)
