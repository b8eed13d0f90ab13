"""WriterService over gRPC: wire <-> domain and domain errors -> statuses, nothing else."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import grpc

from livegate_api.v1 import common_pb2, writer_pb2, writer_pb2_grpc
from livegate_common import logs
from livegate_common.errors import abort
from livegate_common.identity import Principal, PrincipalMap
from livegate_common.scopes import WRITER_CALL
from livegate_common.text import bad_character
from writer_service import wire, wire_reference
from writer_service.auto_stops import AutoStops, Trip
from writer_service.auto_watch import RejectionStreak
from writer_service.config import Role
from writer_service.errors import ErrorKind, WriterError, invalid
from writer_service.ib_reference import BrokerReference
from writer_service.in_flight import Flight
from writer_service.kill_switch import SwitchSnapshot, SwitchState, WriterKillSwitch
from writer_service.live_writer import LiveOrderWriter
from writer_service.orders import BracketSpec, BrokerOrderView
from writer_service.permission import PermissionMonitor
from writer_service.probe import ProbeResult

log = logging.getLogger("livegate.writer.servicer")
# Acknowledged trip ids in one ClaimAutoStops: more than the writer keeps is malformed.
MAX_ACKS: Final = 1000
R = TypeVar("R")

_CODES: Final = {kind: getattr(grpc.StatusCode, kind.value) for kind in ErrorKind}
_ROLES: Final = {
    Role.W: common_pb2.INSTANCE_ROLE_W,
    Role.R: common_pb2.INSTANCE_ROLE_R,
    Role.ABH: common_pb2.INSTANCE_ROLE_ABH,
}
_STATES: Final = {
    SwitchState.OPEN: common_pb2.KILL_SWITCH_STATE_OPEN,
    SwitchState.REDUCING: common_pb2.KILL_SWITCH_STATE_REDUCING,
    SwitchState.CLOSED: common_pb2.KILL_SWITCH_STATE_CLOSED,
}


@dataclass(frozen=True)
class WriterState:
    role: Role
    principals: PrincipalMap
    writer: LiveOrderWriter
    kill_switch: WriterKillSwitch
    permission: PermissionMonitor
    broker_connected: Callable[[], bool]
    reference: BrokerReference
    auto_stops: AutoStops | None = None
    rejections: RejectionStreak | None = None


def rpc(method: Callable[..., R]) -> Callable[..., R]:
    """Authorize, check the text, bind the request id, and turn domain errors into statuses."""
    # A close or a cancel-all must not be lost to a bad reason text: those methods replace it.
    own_text_check = method.__name__ in ("SetKillSwitch", "CancelAllOrders")

    @functools.wraps(method)
    def wrapped(self: WriterServicer, request: Any, context: grpc.ServicerContext) -> R:
        # The request id goes into every log line: only a clean one is bound.
        request_id = getattr(request, "request_id", "")[:64]
        token = logs.request_id_var.set("" if bad_character(request_id) else request_id)
        try:
            principal = self._authorize(context)
            if not own_text_check:
                wire.check_text(request)
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

    @contextmanager
    def _tracked(self, operation: str, request: Any) -> Iterator[None]:
        """The write in flight from its first send until this call answers (a close lists it);
        its broker answer counts towards rejections in a row."""
        with self._s.writer.in_flight.track(request.request_id, operation, request.idempotency_key):
            if self._s.rejections is None:
                yield
                return
            with self._s.rejections.watching(operation):
                yield

    @rpc
    def SubmitOrder(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.WriterOrderResult:
        wire.common_fields(request.request_id, request.account_id, request.idempotency_key)
        spec = wire.order(request.order)
        with self._tracked("submit", request):
            view, reconciled = self._s.writer.submit(
                request.account_id, spec, request.idempotency_key, request.settle
            )
        return wire.order_result(view, reconciled)

    @rpc
    def CancelOrder(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.WriterOrderResult:
        wire.common_fields(request.request_id, request.account_id, request.idempotency_key)
        _positive_id(request.broker_order_id)
        with self._tracked("cancel", request):
            view = self._s.writer.cancel(request.account_id, request.broker_order_id)
        return wire.order_result(view, False)

    @rpc
    def ModifyOrder(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.WriterOrderResult:
        wire.common_fields(request.request_id, request.account_id, request.idempotency_key)
        _positive_id(request.broker_order_id)
        changes = wire.changes(request.changes)
        with self._tracked("modify", request):
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
        with self._tracked("bracket", request):
            legs, reconciled = self._s.writer.submit_bracket(
                request.account_id, bracket, request.idempotency_key, request.settle
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
            ref = wire.bounded(request.order_ref, "order_ref", wire.MAX_ORDER_REF)
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
            raise invalid("FIELD_REQUIRED", "state", "must be OPEN, REDUCING or CLOSED")
        if request.version < 0:
            raise invalid("FIELD_INVALID", "version", "must not be negative")
        state = states[request.state]
        # Only a loosening to OPEN is refused for a bad reason text: a tightening must happen.
        reason = _clean_reason(request, refuse=state is SwitchState.OPEN)
        snapshot, in_flight = self._s.writer.sync_kill_switch(
            state, reason, p.name, request.version, request.resend
        )
        return writer_pb2.WriterKillSwitchAnswer(
            kill_switch=_kill_switch(snapshot), in_flight=[_in_flight(f) for f in in_flight]
        )

    @rpc
    def CancelAllOrders(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.CancelAllOrdersResponse:
        wire.bounded(request.request_id, "request_id", wire.MAX_REQUEST_ID, required=False)
        wire.bounded(request.reason, "reason", wire.MAX_REASON, required=False)
        log.warning("cancel all orders", extra={"reason": _clean_reason(request, refuse=False)})
        outcome = self._s.writer.cancel_all(request.broker_wide)
        return writer_pb2.CancelAllOrdersResponse(
            cancelled_orders=len(outcome.cancelled),
            cancelled=[wire.broker_order(v) for v in outcome.cancelled],
            still_working=[wire.broker_order(v) for v in outcome.still_working],
            foreign_orders_left=outcome.foreign_left,
            broker_wide=outcome.broker_wide,
        )

    @rpc
    def GetPermission(self, request: Any, context: Any, _p: Principal) -> writer_pb2.Permission:
        # The latest verdict (start, reconnect or periodic), not the one the writer started with.
        return permission_message(
            self._s.permission.current(),
            self._s.writer.unexplained(),
            self._s.broker_connected(),
            self._s.kill_switch.snapshot(),
            self._s.writer.broker_timeout_s,
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

    @rpc
    def ClaimAutoStops(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.ClaimAutoStopsResponse:
        wire.bounded(request.request_id, "request_id", wire.MAX_REQUEST_ID, required=False)
        acked = list(request.acknowledged_trip_ids)
        if len(acked) > MAX_ACKS or any(len(a) > wire.MAX_REQUEST_ID for a in acked):
            raise invalid("FIELD_TOO_LONG", "acknowledged_trip_ids", f"at most {MAX_ACKS} ids")
        trips = self._s.auto_stops.claim(acked) if self._s.auto_stops else []
        return writer_pb2.ClaimAutoStopsResponse(trips=[_trip(t) for t in trips])

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
        fills = self._s.reference.fills(request.account_id, since, refresh=request.refresh)
        return wire_reference.fills(fills)

    @rpc
    def ListOrderStatuses(
        self, request: Any, context: Any, _p: Principal
    ) -> writer_pb2.ListOrderStatusesResponse:
        wire.common_fields("", request.account_id, None)
        since = wire_reference.since(request.since)
        statuses = self._s.reference.order_statuses(request.account_id, since)
        return wire_reference.order_statuses(statuses)


def _clean_reason(request: Any, *, refuse: bool) -> str:
    """The request's reason, or (REFUSE false: a close, a cancel-all) a note that replaces a
    text holding control or format characters, so the risk-reducing call still happens."""
    refusal = wire.text_refusal(request)
    if refusal is None:
        return str(request.reason)
    if refuse:
        raise refusal
    meta = refusal.metadata
    return f"(reason text refused: {meta['field']} holds {meta['code_point']})"


def permission_message(
    probe: ProbeResult,
    unexplained: list[BrokerOrderView],
    broker_connected: bool,
    switch: SwitchSnapshot,
    broker_timeout_s: float,
) -> writer_pb2.Permission:
    """GetPermission's answer: the role the probe ran for, its verdict, evidence and time,
    and the broker timeout the policy's deadlines derive from."""
    return writer_pb2.Permission(
        role=_ROLES[probe.role],
        accounts=list(probe.accounts),
        verdict=getattr(writer_pb2, f"PROBE_VERDICT_{probe.verdict.value}"),
        evidence=[
            writer_pb2.ProbeEvidence(check=e.check, passed=e.passed, observed=e.observed)
            for e in probe.evidence
        ],
        probed_at=wire.timestamp(probe.probed_at),
        unexplained_orders=[wire.broker_order(v) for v in unexplained],
        broker_connected=broker_connected,
        kill_switch=_kill_switch(switch),
        broker_request_timeout=wire.duration(broker_timeout_s),
    )


def _positive_id(value: int) -> None:
    if value <= 0:
        raise invalid("FIELD_REQUIRED", "broker_order_id", "must be a positive order id")


def _in_flight(flight: Flight) -> common_pb2.InFlightWrite:
    return common_pb2.InFlightWrite(
        request_id=flight.request_id,
        operation=flight.operation,
        idempotency_key=flight.idempotency_key,
        broker_order_id=flight.broker_order_id,
    )


def _trip(trip: Trip) -> writer_pb2.AutoStopTrip:
    return writer_pb2.AutoStopTrip(
        trip_id=trip.trip_id,
        trigger=trip.trigger,
        reason=trip.reason,
        evidence=[writer_pb2.AutoStopEvidence(key=k, value=v) for k, v in trip.evidence.items()],
        tripped_at=wire.timestamp(trip.tripped_at),
    )


def _kill_switch(snapshot: SwitchSnapshot) -> common_pb2.KillSwitch:
    return common_pb2.KillSwitch(
        state=_STATES[snapshot.state],
        reason=snapshot.reason,
        changed_by=snapshot.changed_by,
        changed_at=wire.timestamp(snapshot.changed_at),
        version=snapshot.version,
    )
