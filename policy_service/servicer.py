"""PolicyService over gRPC: wire <-> domain, and Denial -> status. No rules live here."""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any, Final, TypeVar

import grpc

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_common import logs
from livegate_common.errors import status_with_reason
from livegate_common.identity import PrincipalMap
from livegate_common.metrics import record_refusal
from livegate_common.text import escaped
from policy_service import reasons, wire, wire_leases, wire_reference, wire_scopes
from policy_service.audit_ops import AuditOps
from policy_service.audit_wire import verdict_to_wire
from policy_service.domain import model as m
from policy_service.domain import runaway
from policy_service.domain.commands import BracketCmd, CancelCmd, ModifyCmd, Outcome, SubmitCmd
from policy_service.domain.gate import Gate
from policy_service.domain.killswitch import KillSwitchService, SetResult
from policy_service.domain.leases import Leases, LeaseSettings
from policy_service.domain.orders import OrderReads
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.previews import Previews
from policy_service.domain.scoped_stops import ScopedStops
from policy_service.domain.unaudited import unaudited
from policy_service.domain.writer_switch import WriterSwitchState
from policy_service.storage.audit_store import EventFilter
from policy_service.wire import ShapeError

log = logging.getLogger(__name__)
_REQUEST_ID_RE: Final = re.compile(r"[^A-Za-z0-9._:\-]")
R = TypeVar("R")
MAX_REASON: Final = 500


def request_id_from(context: grpc.ServicerContext) -> str:
    """x-request-id from the caller, sanitised and bounded; a fresh uuid4 otherwise."""
    for k, v in context.invocation_metadata() or ():
        if k == "x-request-id" and isinstance(v, str):
            cleaned = _REQUEST_ID_RE.sub("", v)[:64]
            if cleaned:
                return cleaned
    return uuid.uuid4().hex


def _log_decision(method: str, principal: str, result: Any) -> None:
    """One line per call, carrying the request id the writer's lines carry too."""
    if isinstance(result, m.Denial):
        log.info(
            "refused",
            extra={"method": method, "principal": principal, "reason": result.reason,
                   "status": result.code, "gate_step": result.step},
        )  # fmt: skip
    else:
        log.info("decided", extra={"method": method, "principal": principal, "status": "OK"})


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """Request id, principal, text check, Denial -> status; no exception escapes as a crash."""
    return _rpc(method, own_text_check=False)


def rpc_checking_own_text(method: Callable[..., Any]) -> Callable[..., Any]:
    """As rpc, for a method that decides itself what bad text means (a close must still close)."""
    return _rpc(method, own_text_check=True)


def _rpc(method: Callable[..., Any], own_text_check: bool) -> Callable[..., Any]:
    name = method.__name__

    @functools.wraps(method)
    def handler(self: PolicyServicer, request: Any, context: grpc.ServicerContext) -> Any:
        request_id = request_id_from(context)
        token = logs.request_id_var.set(request_id)
        try:
            principal = self._principals.resolve(context)
            call = m.Call(
                name,
                request_id,
                principal.name if principal else "",
                principal.scopes if principal else frozenset(),
            )
            try:
                # A principal over its refusal limit gets RESOURCE_EXHAUSTED without running.
                limited = self._gate.refusals.limited(call, self._gate.clock.now_us())
                if limited is not None:
                    result = self._gate.refuse(call, limited)
                else:
                    if not own_text_check:
                        wire.check_text(request)
                    result = method(self, call, request)
            except ShapeError as err:
                result = self._gate.refuse(call, err.denial)
            except Exception:  # bad input must never crash the service; logged, INTERNAL
                log.exception("unexpected error", extra={"method": name})
                result = self._internal(call)
            trailing = (("x-request-id", request_id),)
            _log_decision(name, call.principal, result)
            if isinstance(result, m.Denial):
                record_refusal(result.reason)
                status = status_with_reason(
                    getattr(grpc.StatusCode, result.code),
                    result.reason,
                    result.message,
                    {**result.metadata, "gate_step": str(result.step), "request_id": request_id},
                )
                context.abort_with_status(
                    status._replace(trailing_metadata=tuple(status.trailing_metadata) + trailing)  # type: ignore[attr-defined]
                )
            context.set_trailing_metadata(trailing)
            return result
        finally:
            logs.request_id_var.reset(token)

    return handler


class PolicyServicer(policy_pb2_grpc.PolicyServiceServicer):
    def __init__(
        self,
        principals: PrincipalMap,
        gate: Gate,
        previews: Previews,
        switch: KillSwitchService,
        audit: AuditOps,
        orders: OrderReads,
        scoped: ScopedStops | None = None,
        leases: Leases | None = None,
    ):
        self._principals = principals
        self._gate = gate
        self._previews = previews
        self._switch = switch
        self._audit = audit
        self._orders = orders
        self._scoped = scoped or ScopedStops(gate, principals.names())
        self._leases = leases or Leases(gate, LeaseSettings())

    def _internal(self, call: m.Call) -> m.Denial:
        """An unexpected error, answered INTERNAL and audited like any refusal."""
        denial = m.Denial(reasons.INTERNAL_ERROR, "INTERNAL", 0, "internal error")
        try:
            return self._gate.refuse(call, denial)
        except Exception:  # the audit path failed in an unexpected way too
            unaudited(call, "internal error", denial.reason)
            return denial

    # ---- previews and approvals ------------------------------------------------------------

    @rpc
    def CreateOrderPreview(self, call: m.Call, req: policy_pb2.CreateOrderPreviewRequest) -> Any:
        if not req.HasField("order"):
            raise ShapeError(reasons.FIELD_REQUIRED, "order is required", field="order")
        result = self._previews.order(
            call,
            wire.account(req.account_id),
            wire.order(req.order),
            req.intended_duplicate,
            wire_scopes.strategy(req.strategy),
        )
        return result if isinstance(result, m.Denial) else wire_reference.preview_to_wire(result)

    @rpc
    def CreateModifyPreview(self, call: m.Call, req: policy_pb2.CreateModifyPreviewRequest) -> Any:
        result = self._previews.modify(
            call,
            wire.account(req.account_id),
            wire.broker_id(req.broker_order_id),
            wire.changes(req.changes),
            wire_scopes.strategy(req.strategy),
        )
        return result if isinstance(result, m.Denial) else wire_reference.preview_to_wire(result)

    @rpc
    def CreateBracketPreview(
        self, call: m.Call, req: policy_pb2.CreateBracketPreviewRequest
    ) -> Any:
        result = self._previews.bracket(
            call,
            wire.account(req.account_id),
            wire.bracket_legs(req),
            req.intended_duplicate,
            wire_scopes.strategy(req.strategy),
        )
        if isinstance(result, m.Denial):
            return result
        parent, take, stop = (wire_reference.preview_to_wire(p) for p in result)
        return policy_pb2.BracketPreview(
            group_id=result[0].group_id, parent=parent, take_profit=take, stop_loss=stop
        )

    @rpc
    def ApprovePreview(self, call: m.Call, req: policy_pb2.ApprovePreviewRequest) -> Any:
        comment = wire.bounded(req.comment, "comment", 500, required=False)
        result = self._previews.approve(call, wire.ident(req.preview_id, "preview_id"), comment)
        if isinstance(result, m.Denial):
            return result
        return policy_pb2.Approval(
            approval_id=result.approval_id,
            preview_id=result.preview_id,
            approved_by=result.approved_by,
            created_at=wire.ts(result.created_at_us),
            expires_at=wire.ts(result.expires_at_us),
        )

    # ---- live writes -----------------------------------------------------------------------

    @rpc
    def SubmitOrder(self, call: m.Call, req: policy_pb2.SubmitOrderRequest) -> Any:
        cmd = SubmitCmd(
            wire.account(req.account_id),
            wire.ident(req.preview_id, "preview_id"),
            wire.ident(req.approval_id, "approval_id"),
            wire.key(req.idempotency_key),
            wire_scopes.strategy(req.strategy),
        )
        result = self._gate.execute(call, cmd)
        if isinstance(result, m.Denial):
            return result
        return policy_pb2.SubmitOrderResponse(
            order=wire.broker_order_to_wire(result.orders[0]),
            replayed=result.replayed,
            audit_event_id=result.audit_event_id,
        )

    @rpc
    def CancelOrder(self, call: m.Call, req: policy_pb2.CancelOrderRequest) -> Any:
        cmd = CancelCmd(
            wire.account(req.account_id),
            wire.broker_id(req.broker_order_id),
            wire.key(req.idempotency_key),
        )
        result = self._gate.execute(call, cmd)
        if isinstance(result, m.Denial):
            return result
        return policy_pb2.CancelOrderResponse(
            order=wire.broker_order_to_wire(result.orders[0]),
            replayed=result.replayed,
            audit_event_id=result.audit_event_id,
        )

    @rpc
    def ModifyOrder(self, call: m.Call, req: policy_pb2.ModifyOrderRequest) -> Any:
        cmd = ModifyCmd(
            wire.account(req.account_id),
            wire.broker_id(req.broker_order_id),
            wire.ident(req.approval_id, "approval_id"),
            wire.ident(req.preview_id, "preview_id"),
            wire.key(req.idempotency_key),
            wire.changes(req.changes),
            wire_scopes.strategy(req.strategy),
        )
        result = self._gate.execute(call, cmd)
        if isinstance(result, m.Denial):
            return result
        return policy_pb2.ModifyOrderResponse(
            order=wire.broker_order_to_wire(result.orders[0]),
            replayed=result.replayed,
            audit_event_id=result.audit_event_id,
        )

    @rpc
    def SubmitBracket(self, call: m.Call, req: policy_pb2.SubmitBracketRequest) -> Any:
        previews = (
            wire.ident(req.parent_preview_id, "parent_preview_id"),
            wire.ident(req.take_profit_preview_id, "take_profit_preview_id"),
            wire.ident(req.stop_loss_preview_id, "stop_loss_preview_id"),
        )
        approvals = (
            wire.ident(req.parent_approval_id, "parent_approval_id"),
            wire.ident(req.take_profit_approval_id, "take_profit_approval_id"),
            wire.ident(req.stop_loss_approval_id, "stop_loss_approval_id"),
        )
        if len(set(previews)) != 3 or len(set(approvals)) != 3:
            raise ShapeError(reasons.BRACKET_IDS_DUPLICATED, "the three legs must be distinct")
        cmd = BracketCmd(
            wire.account(req.account_id),
            previews,
            approvals,
            wire.key(req.idempotency_key),
            wire_scopes.strategy(req.strategy),
        )
        result = self._gate.execute(call, cmd)
        if isinstance(result, m.Denial):
            return result
        return _bracket_response(result)

    @rpc
    def GetBrokerOrder(self, call: m.Call, req: policy_pb2.GetBrokerOrderRequest) -> Any:
        result = self._orders.get(
            call, wire.account(req.account_id), wire.broker_id(req.broker_order_id)
        )
        if isinstance(result, m.Denial):
            return result
        return policy_pb2.GetBrokerOrderResponse(order=wire.broker_order_to_wire(result))

    # ---- kill switch and status ------------------------------------------------------------

    @rpc
    def GetKillSwitch(self, call: m.Call, req: policy_pb2.GetKillSwitchRequest) -> Any:
        result = self._switch.get(call)
        if isinstance(result, m.Denial):
            return result
        return wire.switch_to_wire(result, self._switch.pending_reopen(result))

    @rpc_checking_own_text
    def SetKillSwitch(self, call: m.Call, req: policy_pb2.SetKillSwitchRequest) -> Any:
        states = {v: k for k, v in wire.SWITCH_STATES.items()}
        state = wire.known(req.state, states, "state")
        if req.cancel_all_open_orders and state is not m.SwitchState.CLOSED:
            raise ShapeError(
                reasons.FIELD_INVALID,
                "cancel_all_open_orders only with CLOSED",
                field="cancel_all_open_orders",
            )
        if req.broker_wide_cancel and not req.cancel_all_open_orders:
            raise ShapeError(
                reasons.FIELD_INVALID,
                "broker_wide_cancel only with cancel_all_open_orders (and CLOSED)",
                field="broker_wide_cancel",
            )
        if state is not m.SwitchState.CLOSED:
            wire.check_text(req)
            reason, refused = wire.bounded(req.reason, "reason", MAX_REASON), None
        else:
            reason, refused = _close_reason(req)
        result = self._switch.set(
            call, state, reason, req.cancel_all_open_orders, refused, req.broker_wide_cancel
        )
        if isinstance(result, m.Denial):
            return result
        return _set_response(result)

    @rpc
    def ConfirmReopen(self, call: m.Call, req: policy_pb2.ConfirmReopenRequest) -> Any:
        reopen_id = wire.ident(req.reopen_id, "reopen_id")
        reason = wire.bounded(req.reason, "reason", MAX_REASON)
        result = self._switch.confirm(call, reopen_id, reason)
        return result if isinstance(result, m.Denial) else _set_response(result)

    @rpc
    def GetLiveStatus(self, call: m.Call, req: policy_pb2.GetLiveStatusRequest) -> Any:
        status = self._switch.live_status()
        msg = policy_pb2.LiveStatus(
            live_enabled=status.live_enabled,
            conditions=[
                policy_pb2.EnablementCondition(name=c.name, passed=c.passed, detail=c.detail)
                for c in status.conditions
            ],
            risk_policy_id=self._gate.policy.policy_id,
            risk_policy_digest=self._gate.policy.digest(),
            livegate_version=self._gate.settings.livegate_version,
        )
        if status.switch is not None:
            msg.kill_switch.CopyFrom(wire.switch_to_wire(status.switch))
        ack, verdict = self._gate.checklist.latest()
        if ack is not None:
            msg.checklist.CopyFrom(wire_reference.acknowledgement_to_wire(ack, verdict))
        msg.principal_stops.extend(
            wire_reference.stop_to_wire(s) for s in self._stops() if s.active
        )
        now = self._gate.clock.now_us()
        msg.scoped_stops.extend(
            wire_scopes.stop_to_wire(s, now) for s in self._scoped.listed() if s.stopped
        )
        msg.leases.extend(wire_leases.lease_to_wire(lease, now) for lease in self._leases.listed())
        return msg

    def _stops(self) -> list[Any]:
        try:
            return self._gate.store.principal_stops()
        except StoreUnavailable:
            return []

    @rpc
    def AcknowledgeChecklist(
        self, call: m.Call, req: policy_pb2.AcknowledgeChecklistRequest
    ) -> Any:
        digest = wire.bounded(req.risk_policy_digest, "risk_policy_digest", 64)
        note = wire.bounded(req.note, "note", 500)
        result = self._gate.checklist.acknowledge(call, digest, note)
        if isinstance(result, m.Denial):
            return result
        return wire_reference.acknowledgement_to_wire(result, self._gate.checklist.latest()[1])

    @rpc
    def ResetPrincipalStop(self, call: m.Call, req: policy_pb2.ResetPrincipalStopRequest) -> Any:
        principal = wire.bounded(req.principal, "principal", 128)
        why = wire.bounded(req.reason, "reason", 500)
        result = runaway.reset(self._gate, call, principal, why)
        return result if isinstance(result, m.Denial) else wire_reference.stop_to_wire(result)

    @rpc
    def SetScopedStop(self, call: m.Call, req: policy_pb2.SetScopedStopRequest) -> Any:
        kind, value, state, reason = wire_scopes.set_request(req)
        result = self._scoped.set(call, kind, value, state, reason)
        if isinstance(result, m.Denial):
            return result
        return policy_pb2.SetScopedStopResponse(
            stop=wire_scopes.stop_to_wire(result.stop, self._gate.clock.now_us()),
            audit_event_id=result.audit_event_id,
            revoked_approvals=result.revoked_approvals,
        )

    # ---- dead-man leases ------------------------------------------------------------------

    @rpc
    def RenewLease(self, call: m.Call, req: policy_pb2.RenewLeaseRequest) -> Any:
        result = self._leases.renew(call, req.ttl_s)
        if isinstance(result, m.Denial):
            return result
        return wire_leases.lease_to_wire(result, self._gate.clock.now_us())

    @rpc
    def ReleaseLease(self, call: m.Call, req: policy_pb2.ReleaseLeaseRequest) -> Any:
        result = self._leases.release(call)
        if isinstance(result, m.Denial):
            return result
        return wire_leases.lease_to_wire(result, self._gate.clock.now_us())

    # ---- audit -----------------------------------------------------------------------------

    @rpc
    def ListAuditEvents(self, call: m.Call, req: policy_pb2.ListAuditEventsRequest) -> Any:
        size = req.page_size or 100
        if not 1 <= size <= 1000:
            raise ShapeError(reasons.FIELD_INVALID, "page_size must be 1..1000", field="page_size")
        flt = EventFilter(
            since_us=wire.timestamp_us(req.since, "since") if req.HasField("since") else 0,
            until_us=wire.timestamp_us(req.until, "until") if req.HasField("until") else 0,
            request_id=wire.bounded(req.request_id, "request_id", 64, required=False),
            idempotency_key=wire.bounded(
                req.idempotency_key, "idempotency_key", 64, required=False
            ),
            after_event_id=max(0, req.after_event_id),
            limit=size,
        )
        result = self._audit.list(call, flt)
        if isinstance(result, m.Denial):
            return result
        events = [_event_to_wire(e) for e in result]
        next_after = events[-1].event_id if len(events) == size else 0
        return policy_pb2.ListAuditEventsResponse(events=events, next_after_event_id=next_after)

    @rpc
    def VerifyAudit(self, call: m.Call, req: policy_pb2.VerifyAuditRequest) -> Any:
        result = self._audit.verify(call)
        return result if isinstance(result, m.Denial) else verdict_to_wire(result)

    @rpc
    def ExportAudit(self, call: m.Call, req: policy_pb2.ExportAuditRequest) -> Any:
        until = wire.timestamp_us(req.until, "until") if req.HasField("until") else 0
        result = self._audit.export(call, until)
        if isinstance(result, m.Denial):
            return result
        return policy_pb2.ExportAuditResponse(
            export_id=result.export_id,
            path=str(result.path),
            manifest_path=str(result.manifest_path),
            first_event_id=result.first_event_id,
            last_event_id=result.last_event_id,
            event_count=result.event_count,
            sha256=result.sha256,
            manifest_sha256=result.manifest_sha256,
            key_ids=list(result.key_ids),
        )

    @rpc
    def PurgeAudit(self, call: m.Call, req: policy_pb2.PurgeAuditRequest) -> Any:
        before = wire.timestamp_us(req.before, "before") if req.HasField("before") else 0
        result = self._audit.purge(call, before, req.dry_run)
        if isinstance(result, m.Denial):
            return result
        return policy_pb2.PurgeAuditResponse(
            purged_count=result.purged_count,
            purged_through_event_id=result.purged_through_event_id,
            export_id=result.export_id,
            audit_event_id=result.audit_event_id,
            manifest_sha256=result.manifest_sha256,
        )


def _bracket_response(result: Outcome) -> policy_pb2.SubmitBracketResponse:
    parent, take, stop = (wire.broker_order_to_wire(o) for o in result.orders)
    return policy_pb2.SubmitBracketResponse(
        parent=parent,
        take_profit=take,
        stop_loss=stop,
        replayed=result.replayed,
        audit_event_id=result.audit_event_id,
    )


_WRITER_STATES: Final = {
    WriterSwitchState.CONFIRMED_CLOSED: policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_CLOSED,
    WriterSwitchState.CONFIRMED_OPEN: policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_OPEN,
    WriterSwitchState.CONFIRMED_REDUCING: policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_REDUCING,
    WriterSwitchState.NOT_CONFIRMED: policy_pb2.WRITER_SWITCH_STATE_NOT_CONFIRMED,
}


def _close_reason(req: policy_pb2.SetKillSwitchRequest) -> tuple[str, m.Denial | None]:
    """A close's reason, and the step-2 refusal its text earned, if any.

    The one call where bad text must not stop the action: the close goes ahead with the text
    made storable (refused characters escaped, cut to length, a placeholder for none), and the
    caller is told the text was refused.
    """
    refusal = wire.text_refusal(req)
    text = escaped(req.reason)
    if refusal is None:
        try:
            wire.bounded(text, "reason", MAX_REASON)
        except ShapeError as err:
            refusal = err
    if not text:
        text = "(no reason given)"
    return text[:MAX_REASON], refusal.denial if refusal else None


def _set_response(result: SetResult) -> policy_pb2.SetKillSwitchResponse:
    return policy_pb2.SetKillSwitchResponse(
        kill_switch=wire.switch_to_wire(result.switch, result.pending),
        writer_synced=result.writer_synced,
        cancelled_orders=result.cancelled_orders,
        audit_event_id=result.audit_event_id,
        writer_state=_WRITER_STATES[result.writer_state],
        writer_in_flight=[
            common_pb2.InFlightWrite(
                request_id=w.request_id,
                operation=w.operation,
                idempotency_key=w.idempotency_key,
                broker_order_id=w.broker_order_id,
            )
            for w in result.writer_in_flight
        ],
    )


def _event_to_wire(e: dict[str, Any]) -> policy_pb2.AuditEvent:
    import json

    states = {
        "OPEN": common_pb2.KILL_SWITCH_STATE_OPEN,
        "REDUCING": common_pb2.KILL_SWITCH_STATE_REDUCING,
        "CLOSED": common_pb2.KILL_SWITCH_STATE_CLOSED,
    }
    return policy_pb2.AuditEvent(
        event_id=e["event_id"],
        occurred_at=wire.ts(e["occurred_at_us"]),
        method=e["method"],
        request_id=e["request_id"],
        principal=e["principal"],
        account_id_hash=e["account_id_hash"],
        preview_id=e["preview_id"],
        approval_id=e["approval_id"],
        idempotency_key=e["idempotency_key"],
        broker_order_id=e["broker_order_id"],
        kill_switch_state=states.get(
            e["kill_switch_state"], common_pb2.KILL_SWITCH_STATE_UNSPECIFIED
        ),
        risk_policy_id=e["risk_policy_id"],
        outcome=e["outcome"],
        status_code=e["status_code"],
        reason=e["reason"],
        gate_step=e["gate_step"],
        detail=json.loads(e["detail"]),
        prev_hash=e["prev_hash"],
        hash=e["hash"],
        key_id=e["key_id"],
    )
