"""WriterService over gRPC: wire <-> domain and domain errors -> statuses, nothing else."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import grpc

from livegate_api.v1 import common_pb2, writer_pb2, writer_pb2_grpc
from livegate_common import logs
from livegate_common.errors import abort
from livegate_common.identity import Principal, PrincipalMap
from livegate_common.scopes import WRITER_CALL
from writer_service import wire, wire_reference
from writer_service.config import Role
from writer_service.errors import ErrorKind, WriterError, invalid
from writer_service.ib_reference import BrokerReference
from writer_service.kill_switch import SwitchSnapshot, SwitchState, WriterKillSwitch
from writer_service.live_writer import LiveOrderWriter
from writer_service.orders import BracketSpec
from writer_service.probe import ProbeResult

log = logging.getLogger("livegate.writer.servicer")
R = TypeVar("R")

_CODES: Final = {kind: getattr(grpc.StatusCode, kind.value) for kind in ErrorKind}
_ROLES: Final = {
    Role.W: common_pb2.INSTANCE_ROLE_W,
    Role.R: common_pb2.INSTANCE_ROLE_R,
    Role.ABH: common_pb2.INSTANCE_ROLE_ABH,
}
_STATES: Final = {
    SwitchState.OPEN: common_pb2.KILL_SWITCH_STATE_OPEN,
    SwitchState.CLOSED: common_pb2.KILL_SWITCH_STATE_CLOSED,
}


@dataclass(frozen=True)
class WriterState:
    role: Role
    principals: PrincipalMap
    writer: LiveOrderWriter
    kill_switch: WriterKillSwitch
    probe: ProbeResult
    broker_connected: Callable[[], bool]
    reference: BrokerReference


def rpc(method: Callable[..., R]) -> Callable[..., R]:
    """Authorize, bind the request id, and turn domain errors into statuses."""

    @functools.wraps(method)
    def wrapped(self: WriterServicer, request: Any, context: grpc.ServicerContext) -> R:
        token = logs.request_id_var.set(getattr(request, "request_id", "")[:64])
        try:
            principal = self._authorize(context)
            return method(self, request, context, principal)
        except WriterError as exc:
            log.info("refused", extra={"method": method.__name__, "reason": exc.reason})
            abort(context, _CODES[exc.kind], exc.reason, exc.message, exc.metadata)
        except Exception:  # never crash a call: log it and answer INTERNAL with a reason
            log.exception("unexpected error", extra={"method": method.__name__})
            abort(context, grpc.StatusCode.INTERNAL, "WRITER_INTERNAL", "unexpected writer error")
        finally:
            logs.request_id_var.reset(token)

    return wrapped


class WriterServicer(writer_pb2_grpc.WriterServiceServicer):
    def __init__(self, state: WriterState):
        self._s = state

    def _authorize(self, context: grpc.ServicerContext) -> Principal:
        principal = self._s.principals.resolve(context)
        if principal is None or not principal.has(WRITER_CALL):
            raise WriterError(
                ErrorKind.PERMISSION_DENIED,
                "SCOPE_MISSING",
                "the caller lacks writer.call",
                {"scope": WRITER_CALL},
            )
        return principal

    @rpc
    def SubmitOrder(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.WriterOrderResult:
        wire.common_fields(request.request_id, request.account_id, request.idempotency_key)
        spec = wire.order(request.order)
        view, reconciled = self._s.writer.submit(request.account_id, spec, request.idempotency_key)
        return wire.order_result(view, reconciled)

    @rpc
    def CancelOrder(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.WriterOrderResult:
        wire.common_fields(request.request_id, request.account_id, request.idempotency_key)
        _positive_id(request.broker_order_id)
        view = self._s.writer.cancel(request.account_id, request.broker_order_id)
        return wire.order_result(view, False)

    @rpc
    def ModifyOrder(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.WriterOrderResult:
        wire.common_fields(request.request_id, request.account_id, request.idempotency_key)
        _positive_id(request.broker_order_id)
        changes = wire.changes(request.changes)
        view = self._s.writer.modify(request.account_id, request.broker_order_id, changes)
        return wire.order_result(view, False)

    @rpc
    def SubmitBracket(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.WriterBracketResult:
        wire.common_fields(request.request_id, request.account_id, request.idempotency_key)
        bracket = BracketSpec(
            wire.order(request.parent, "parent"),
            wire.order(request.take_profit, "take_profit"),
            wire.order(request.stop_loss, "stop_loss"),
        )
        if bracket.parent.instrument != bracket.take_profit.instrument or (
            bracket.parent.instrument != bracket.stop_loss.instrument
        ):
            raise invalid(
                "BRACKET_INSTRUMENT_MISMATCH", "instrument", "legs must share one instrument"
            )
        legs, reconciled = self._s.writer.submit_bracket(
            request.account_id, bracket, request.idempotency_key
        )
        return writer_pb2.WriterBracketResult(
            parent=wire.broker_order(legs[0]),
            take_profit=wire.broker_order(legs[1]),
            stop_loss=wire.broker_order(legs[2]),
            reconciled=reconciled,
        )

    @rpc
    def ListOpenOrders(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.ListOpenOrdersResponse:
        wire.common_fields("", request.account_id, None)
        ids = self._s.writer.open_order_ids(request.account_id)
        return writer_pb2.ListOpenOrdersResponse(broker_order_ids=ids)

    @rpc
    def GetOrder(self, request: Any, context: Any, _p: Principal) -> writer_pb2.WriterOrderResult:
        wire.common_fields("", request.account_id, None)
        which = request.WhichOneof("key")
        if which is None:
            raise invalid("FIELD_REQUIRED", "key", "broker_order_id or order_ref is required")
        if which == "order_ref":
            ref = wire.bounded(request.order_ref, "order_ref", wire.MAX_IDEMPOTENCY_KEY + 3)
            view = self._s.writer.get_order(request.account_id, None, ref)
        else:
            _positive_id(request.broker_order_id)
            view = self._s.writer.get_order(request.account_id, request.broker_order_id, None)
        return wire.order_result(view, False)

    @rpc
    def GetKillSwitch(self, request: Any, context: Any, _p: Principal) -> common_pb2.KillSwitch:
        return _kill_switch(self._s.kill_switch.snapshot())

    @rpc
    def SetKillSwitch(
        self, request: Any, context: Any, p: Principal
    ) -> writer_pb2.WriterKillSwitchAnswer:
        wire.bounded(request.request_id, "request_id", wire.MAX_REQUEST_ID, required=False)
        wire.bounded(request.reason, "reason", wire.MAX_REASON, required=False)
        states = {v: k for k, v in _STATES.items()}
        if request.state not in states:
            raise invalid("FIELD_REQUIRED", "state", "must be OPEN or CLOSED")
        if request.version < 0:
            raise invalid("FIELD_INVALID", "version", "must not be negative")
        snapshot = self._s.writer.sync_kill_switch(
            states[request.state], request.reason, p.name, request.version
        )
        return writer_pb2.WriterKillSwitchAnswer(kill_switch=_kill_switch(snapshot))

    @rpc
    def CancelAllOrders(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.CancelAllOrdersResponse:
        wire.bounded(request.request_id, "request_id", wire.MAX_REQUEST_ID, required=False)
        wire.bounded(request.reason, "reason", wire.MAX_REASON, required=False)
        log.warning("cancel all orders", extra={"reason": request.reason})
        return writer_pb2.CancelAllOrdersResponse(cancelled_orders=self._s.writer.cancel_all())

    @rpc
    def GetPermission(self, request: Any, context: Any, _p: Principal) -> writer_pb2.Permission:
        probe = self._s.probe
        return writer_pb2.Permission(
            role=_ROLES[self._s.role],
            accounts=list(probe.accounts),
            verdict=getattr(writer_pb2, f"PROBE_VERDICT_{probe.verdict.value}"),
            evidence=[
                writer_pb2.ProbeEvidence(check=e.check, passed=e.passed, observed=e.observed)
                for e in probe.evidence
            ],
            probed_at=wire.timestamp(probe.probed_at),
            unexplained_orders=[wire.broker_order(v) for v in self._s.writer.unexplained()],
            broker_connected=self._s.broker_connected(),
            kill_switch=_kill_switch(self._s.kill_switch.snapshot()),
        )

    @rpc
    def GetQuote(self, request: Any, context: Any, _p: Principal) -> writer_pb2.Quote:
        instrument = wire.instrument(request.instrument)
        quote, received_at = self._s.writer.quote(instrument)
        return writer_pb2.Quote(
            instrument=request.instrument,
            bid=wire.decimal_text(quote.bid),
            ask=wire.decimal_text(quote.ask),
            last=wire.decimal_text(quote.last),
            as_of=wire.timestamp(received_at),
        )

    # ---- reference data for the policy's checks (reads: no kill-switch check) ------------

    @rpc
    def GetContractDetails(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.ContractDetails:
        view = self._s.reference.contract(wire.instrument(request.instrument))
        return wire_reference.contract_details(view)

    @rpc
    def GetAccountState(self, request: Any, context: Any, _p: Principal) -> writer_pb2.AccountState:
        wire.common_fields("", request.account_id, None)
        return wire_reference.account_state(self._s.reference.account(request.account_id))

    @rpc
    def PreviewMargin(self, request: Any, context: Any, _p: Principal) -> common_pb2.MarginImpact:
        wire.common_fields(request.request_id, request.account_id, None)
        spec = wire.order(request.order)
        return wire_reference.margin(self._s.reference.margin(request.account_id, spec))

    @rpc
    def ListFills(self, request: Any, context: Any, _p: Principal) -> writer_pb2.ListFillsResponse:
        wire.common_fields("", request.account_id, None)
        since = wire_reference.since(request.since)
        return wire_reference.fills(self._s.reference.fills(request.account_id, since))


def _positive_id(value: int) -> None:
    if value <= 0:
        raise invalid("FIELD_REQUIRED", "broker_order_id", "must be a positive order id")


def _kill_switch(snapshot: SwitchSnapshot) -> common_pb2.KillSwitch:
    return common_pb2.KillSwitch(
        state=_STATES[snapshot.state],
        reason=snapshot.reason,
        changed_by=snapshot.changed_by,
        changed_at=wire.timestamp(snapshot.changed_at),
        version=snapshot.version,
    )
