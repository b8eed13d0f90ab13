"""The writer over one long-lived mTLS channel, with a deadline on every call.

The writer's identity is pinned by the channel: its certificate must chain to the CA in
writer.tls.ca and carry writer.server_name (grpc.ssl_target_name_override). grpc's Python
client cannot read the peer certificate, so writer.expected_san is documentation of that pin;
use a CA that only issues the writer's certificate with that name.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any, Final

import grpc

from livegate_api.v1 import common_pb2, writer_pb2, writer_pb2_grpc
from livegate_common.deadlines import SWITCH_SYNC_DEADLINE_S
from livegate_common.errors import error_info
from livegate_common.metrics import WRITER_LATENCY
from livegate_common.tls import secure_channel
from policy_service import reasons, wire, wire_reference
from policy_service.config import WriterClientConfig
from policy_service.domain import model as m
from policy_service.domain.auto_stop import WriterTrip
from policy_service.domain.order_life import OrderStatusReport
from policy_service.domain.ports import CancelAllResult, CancelledOrder, WriterError
from policy_service.domain.reference import AccountState, ContractDetails, Fill, Margin
from policy_service.domain.writer_switch import InFlightWrite, WriterSwitch
from policy_service.wire_reference import decimal_or_none
from policy_service.writer_identity import IdentityCache

log = logging.getLogger(__name__)

# Codes that mean the request may have been executed: settle by asking, never resend blindly.
_AMBIGUOUS = {
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.ABORTED,
}


# The writer restarts on every deployment (its secret-id is single-use). gRPC's default backoff
# (1 s growing to 120 s) would then keep the kill switch from opening for seconds after the
# writer is back; it is a local peer, so try again within a second.
RECONNECT_BACKOFF: Final = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


def _error(exc: grpc.RpcError) -> WriterError:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    info = None
    try:
        info = error_info(exc)
    except Exception:  # a malformed status detail must not hide the code
        info = None
    reason = info.reason if info else ""
    metadata = dict(info.metadata) if info else {}
    message = exc.details() if hasattr(exc, "details") else str(exc)
    if code == grpc.StatusCode.UNAVAILABLE:
        kind = "UNAVAILABLE"
    elif code in _AMBIGUOUS:
        kind = "UNKNOWN"
    elif code == grpc.StatusCode.NOT_FOUND:
        kind = "NOT_FOUND"
    else:
        kind = "REFUSED"
    return WriterError(kind, code.name, reason, message or "", metadata)


_SWITCH_TO_WIRE = {
    m.SwitchState.OPEN: common_pb2.KILL_SWITCH_STATE_OPEN,
    m.SwitchState.REDUCING: common_pb2.KILL_SWITCH_STATE_REDUCING,
    m.SwitchState.CLOSED: common_pb2.KILL_SWITCH_STATE_CLOSED,
}
_SWITCH_FROM_WIRE = {v: k for k, v in _SWITCH_TO_WIRE.items()}


class WriterClient:
    """Implements domain.ports.Writer."""

    def __init__(self, config: WriterClientConfig):
        self._config = config
        self._channel = secure_channel(
            config.address, config.tls, config.server_name, RECONNECT_BACKOFF
        )
        self._stub = writer_pb2_grpc.WriterServiceStub(self._channel)
        self._identity = IdentityCache(
            config.address,
            config.tls,
            config.server_name,
            config.expected_san,
            timeout_s=config.deadline_s,
        )

    def close(self) -> None:
        self._channel.close()

    def _call(
        self, method: str, request: Any, request_id: str = "", deadline: float | None = None
    ) -> Any:
        identity = self._identity.current()
        if not identity.ok:
            # Nothing is sent to a peer that is not provably the writer: fail closed.
            raise WriterError(
                "UNAVAILABLE", "UNAVAILABLE", reasons.WRITER_IDENTITY_MISMATCH, identity.detail
            )
        metadata = (("x-request-id", request_id),) if request_id else None
        try:
            with WRITER_LATENCY.labels(method=method).time():
                return getattr(self._stub, method)(
                    request, timeout=deadline or self._config.deadline_s, metadata=metadata
                )
        except grpc.RpcError as exc:
            raise _error(exc) from exc

    def submit(
        self, request_id: str, account_id: str, order: m.OrderSpec, key: str, settle: bool = False
    ) -> m.BrokerOrder:
        req = writer_pb2.WriterSubmitOrderRequest(
            request_id=request_id,
            account_id=account_id,
            order=wire.order_to_wire(order),
            idempotency_key=key,
            settle=settle,
        )
        return wire.broker_order_from_wire(self._call("SubmitOrder", req, request_id).order)

    def cancel(
        self, request_id: str, account_id: str, broker_order_id: int, key: str
    ) -> m.BrokerOrder:
        req = writer_pb2.WriterCancelOrderRequest(
            request_id=request_id,
            account_id=account_id,
            broker_order_id=broker_order_id,
            idempotency_key=key,
        )
        return wire.broker_order_from_wire(self._call("CancelOrder", req, request_id).order)

    def modify(
        self, request_id: str, account_id: str, broker_order_id: int, changes: m.Changes, key: str
    ) -> m.BrokerOrder:
        req = writer_pb2.WriterModifyOrderRequest(
            request_id=request_id,
            account_id=account_id,
            broker_order_id=broker_order_id,
            changes=wire.changes_to_wire(changes),
            idempotency_key=key,
        )
        return wire.broker_order_from_wire(self._call("ModifyOrder", req, request_id).order)

    def bracket(
        self,
        request_id: str,
        account_id: str,
        legs: tuple[m.OrderSpec, m.OrderSpec, m.OrderSpec],
        key: str,
        settle: bool = False,
    ) -> tuple[m.BrokerOrder, m.BrokerOrder, m.BrokerOrder]:
        req = writer_pb2.WriterSubmitBracketRequest(
            request_id=request_id,
            account_id=account_id,
            parent=wire.order_to_wire(legs[0]),
            take_profit=wire.order_to_wire(legs[1]),
            stop_loss=wire.order_to_wire(legs[2]),
            idempotency_key=key,
            settle=settle,
        )
        res = self._call("SubmitBracket", req, request_id)
        return (
            wire.broker_order_from_wire(res.parent),
            wire.broker_order_from_wire(res.take_profit),
            wire.broker_order_from_wire(res.stop_loss),
        )

    def get_order(
        self, account_id: str, broker_order_id: int = 0, order_ref: str = ""
    ) -> m.BrokerOrder:
        req = writer_pb2.GetOrderRequest(account_id=account_id)
        if order_ref:
            req.order_ref = order_ref
        else:
            req.broker_order_id = broker_order_id
        return wire.broker_order_from_wire(self._call("GetOrder", req).order)

    def get_quote(self, instrument: m.Instrument) -> m.Quote:
        res = self._call(
            "GetQuote", writer_pb2.GetQuoteRequest(instrument=wire.instrument_to_wire(instrument))
        )
        return m.Quote(
            decimal_or_none(res.bid),
            decimal_or_none(res.ask),
            decimal_or_none(res.last),
            wire.ts_us(res.as_of),
        )

    def set_kill_switch(
        self,
        request_id: str,
        state: m.SwitchState,
        reason: str,
        version: int,
        resend: bool = False,
    ) -> WriterSwitch:
        req = writer_pb2.WriterSetKillSwitchRequest(
            request_id=request_id,
            state=_SWITCH_TO_WIRE[state],
            reason=reason[:500],
            version=version,
            resend=resend,
        )
        # The writer answers a sync at once (it never waits for the broker): a short deadline,
        # so an unreachable writer does not hold an operator's close for a write's deadline.
        answer = self._call("SetKillSwitch", req, request_id, deadline=SWITCH_SYNC_DEADLINE_S)
        return WriterSwitch(
            state=_SWITCH_FROM_WIRE.get(answer.kill_switch.state),
            version=answer.kill_switch.version,
            in_flight=tuple(
                InFlightWrite(w.request_id, w.operation, w.idempotency_key, w.broker_order_id)
                for w in answer.in_flight
            ),
        )

    def cancel_all(
        self, request_id: str, reason: str, broker_wide: bool = False
    ) -> CancelAllResult:
        req = writer_pb2.CancelAllOrdersRequest(
            request_id=request_id, reason=reason, broker_wide=broker_wide
        )
        # Two read-backs and the cancels' wait, each bounded by the broker timeout.
        deadline = 3 * self._config.deadline_s
        answer = self._call("CancelAllOrders", req, request_id, deadline=deadline)
        return CancelAllResult(
            cancelled=tuple(_cancelled(o) for o in answer.cancelled),
            still_working=tuple(_cancelled(o) for o in answer.still_working),
            foreign_left=answer.foreign_orders_left,
            broker_wide=answer.broker_wide,
        )

    def open_order_ids(self, account_id: str) -> list[int]:
        req = writer_pb2.ListOpenOrdersRequest(account_id=account_id)
        return list(self._call("ListOpenOrders", req).broker_order_ids)

    def contract_details(self, instrument: m.Instrument) -> ContractDetails:
        req = writer_pb2.GetContractDetailsRequest(instrument=wire.instrument_to_wire(instrument))
        return wire_reference.contract_details(self._call("GetContractDetails", req))

    def account_state(self, account_id: str) -> AccountState:
        req = writer_pb2.GetAccountStateRequest(account_id=account_id)
        return wire_reference.account_state(self._call("GetAccountState", req))

    def preview_margin(self, request_id: str, account_id: str, order: m.OrderSpec) -> Margin:
        req = writer_pb2.PreviewMarginRequest(
            request_id=request_id, account_id=account_id, order=wire.order_to_wire(order)
        )
        return wire_reference.margin(self._call("PreviewMargin", req, request_id))

    def order_statuses(self, account_id: str, since_us: int = 0) -> list[OrderStatusReport]:
        req = writer_pb2.ListOrderStatusesRequest(
            account_id=account_id, since=wire.ts(since_us) if since_us else None
        )
        return wire_reference.order_statuses(self._call("ListOrderStatuses", req))

    def fills(self, account_id: str, since_us: int, refresh: bool = False) -> list[Fill]:
        req = writer_pb2.ListFillsRequest(
            account_id=account_id, since=wire.ts(since_us), refresh=refresh
        )
        return wire_reference.fills(self._call("ListFills", req))

    def claim_auto_stops(self, acknowledged: list[str]) -> list[WriterTrip]:
        """The writer's automatic stops not recorded yet (see domain.auto_stop.WriterTrips)."""
        res = self._call(
            "ClaimAutoStops",
            writer_pb2.ClaimAutoStopsRequest(acknowledged_trip_ids=acknowledged),
            deadline=SWITCH_SYNC_DEADLINE_S,
        )
        return [
            WriterTrip(
                t.trip_id,
                t.trigger,
                t.reason,
                {e.key: e.value for e in t.evidence},
                t.tripped_at.ToDatetime(tzinfo=UTC).isoformat(),
            )
            for t in res.trips
        ]

    def permission_ok(self) -> tuple[bool, str]:
        res = self._call("GetPermission", writer_pb2.GetPermissionRequest())
        mismatch = _timeout_mismatch(res, self._config.broker_timeout_s)
        ok = (
            res.verdict == writer_pb2.PROBE_VERDICT_MATCHES_ROLE
            and res.broker_connected
            and mismatch is None
        )
        verdict = writer_pb2.ProbeVerdict.Name(res.verdict)
        probed_at = res.probed_at.ToDatetime(tzinfo=UTC).isoformat(timespec="seconds")
        detail = (
            f"verdict={verdict} probed_at={probed_at} "
            f"broker_connected={str(res.broker_connected).lower()}"
        )
        # The writer's evidence says why (e.g. what_if: error 321 ... Read-Only).
        failed = "; ".join(f"{e.check}: {e.observed}" for e in res.evidence if not e.passed)
        if failed:
            detail += f"; failed {failed}"
        if mismatch is not None:
            detail += f"; {mismatch}"
        return ok, f"{detail}; {self._identity.current().detail}"

    def broker_timeout_mismatch(self) -> str | None:
        """Why the writer's broker timeout is not the declared writer.broker_timeout_s; None
        when they agree. Raises WriterError when the writer cannot be asked."""
        res = self._call(
            "GetPermission", writer_pb2.GetPermissionRequest(), deadline=SWITCH_SYNC_DEADLINE_S
        )
        return _timeout_mismatch(res, self._config.broker_timeout_s)


def _timeout_mismatch(res: Any, declared_s: float) -> str | None:
    if not res.HasField("broker_request_timeout"):
        return "the writer does not report its broker.request_timeout_s"
    reported_s = res.broker_request_timeout.ToNanoseconds() / 1e9
    if abs(reported_s - declared_s) < 1e-3:
        return None
    return (
        f"the writer's broker.request_timeout_s is {reported_s:g} s but writer.broker_timeout_s "
        f"is {declared_s:g} s (the policy's deadlines derive from the latter)"
    )


def _cancelled(order: Any) -> CancelledOrder:
    return CancelledOrder(order.broker_order_id, order.order_ref, order.account_id, order.status)
