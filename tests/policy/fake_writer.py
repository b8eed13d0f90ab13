"""A fake WriterService over real mTLS that records every call, for unit tests of policy rules."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from livegate_api.v1 import common_pb2, writer_pb2, writer_pb2_grpc
from livegate_common.config import ServerConfig
from livegate_common.devconfig import WRITER_SERVICE_NAME, writer_principals
from livegate_common.errors import status_with_reason
from livegate_common.identity import PrincipalMap
from livegate_common.server import create_server
from livegate_common.tls import TLSFiles
from tests.policy.fake_reference import FakeReference, FakeReferenceState
from writer_service.config import Role
from writer_service.kill_switch import SwitchSnapshot, SwitchState
from writer_service.probe import Answer, Observation, ProbeResult, decide
from writer_service.servicer import permission_message

_ANSWERED = Observation(Answer.ANSWERED, "answered: 0 orders, no 321")
_READ_ONLY = Observation(Answer.READ_ONLY, "error 321 The API interface is in Read-Only mode.")
_MARGINS = Observation(Answer.ANSWERED, "margin values: initMarginChange=100 maintMarginChange=90")
TRADE_CAPABLE = "trade_capable"
QUERIES_REFUSED = "queries_refused"
WHAT_IF_REFUSED = "what_if_refused"
# What a gateway of each kind answers the probe: (order queries, what-if).
GATEWAYS: dict[str, tuple[tuple[tuple[str, Observation], ...], Observation]] = {
    TRADE_CAPABLE: (
        (("open_orders_query", _ANSWERED), ("completed_orders_query", _ANSWERED)),
        _MARGINS,
    ),
    QUERIES_REFUSED: (
        (("open_orders_query", _READ_ONLY), ("completed_orders_query", _READ_ONLY)),
        _READ_ONLY,
    ),
    WHAT_IF_REFUSED: (
        (("open_orders_query", _ANSWERED), ("completed_orders_query", _ANSWERED)),
        _READ_ONLY,
    ),
}

# The broker timeout the fake reports and the policy harness declares: small, so the policy's
# derived deadline (livegate_common.deadlines) stays short in unit tests.
FAKE_BROKER_TIMEOUT_S = 0.25


@dataclass
class Refusal:
    code: grpc.StatusCode
    reason: str
    message: str


@dataclass
class FakeWriterState:
    calls: list[tuple[str, Any]] = field(default_factory=list)
    orders: dict[int, common_pb2.BrokerOrder] = field(default_factory=dict)
    quotes: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    quote_as_of: float | None = None
    next_id: int = 100
    kill_switch: common_pb2.KillSwitchState = common_pb2.KILL_SWITCH_STATE_CLOSED
    kill_switch_version: int = 0
    # The real writer's rule (writer_service.kill_switch): a CLOSED always applies; an OPEN
    # must be newer than every version seen up to the last CLOSED.
    kill_switch_seen: int = -1
    kill_switch_open_floor: int = -1
    refuse_next: Refusal | None = None
    submit_delay_s: float = 0.0
    # Set: an operator's CLOSED (not a resend) waits for it, so a close stays in progress.
    close_hold: threading.Event | None = None
    # What GetPermission reports comes from the real writer's probe rule and answer builder,
    # given the writer's role, its accounts and what its gateway does (GATEWAYS).
    role: Role = Role.W
    accounts: tuple[str, ...] = ("U1234567",)
    gateway: str = TRADE_CAPABLE
    broker_connected: bool = True
    # What it reports as its broker.request_timeout_s, as a real writer does.
    broker_timeout_s: float = FAKE_BROKER_TIMEOUT_S
    # ListOpenOrders is a periodic read: counted here, not in calls (tests count live writes).
    open_order_lists: int = 0
    open_orders_unavailable: bool = False
    reference: FakeReferenceState = field(default_factory=FakeReferenceState)


class FakeWriter(FakeReference, writer_pb2_grpc.WriterServiceServicer):
    """Places orders in memory; reconciles by orderRef like the real writer must."""

    def __init__(self) -> None:
        self.state = FakeWriterState()
        self.lock = threading.Lock()

    def calls(self, method: str | None = None) -> list[Any]:
        with self.lock:
            return [req for name, req in self.state.calls if method is None or name == method]

    def _record(self, method: str, request: Any) -> None:
        with self.lock:
            self.state.calls.append((method, request))

    def _maybe_refuse(self, context: grpc.ServicerContext) -> None:
        with self.lock:
            refusal, self.state.refuse_next = self.state.refuse_next, None
        if refusal is not None:
            context.abort_with_status(
                status_with_reason(refusal.code, refusal.reason, refusal.message)
            )

    def _place(
        self,
        context: grpc.ServicerContext,
        account: str,
        order: common_pb2.Order,
        ref: str,
        parent: int = 0,
    ) -> common_pb2.BrokerOrder:
        for existing in self.state.orders.values():
            if existing.order_ref != ref:
                continue
            # Like the real writer: the ref counts only with the request's account and order.
            if existing.account_id != account or existing.order != order:
                context.abort_with_status(
                    status_with_reason(
                        grpc.StatusCode.FAILED_PRECONDITION,
                        "ORDER_REF_MISMATCH",
                        "an order with this ref differs from the request",
                    )
                )
            return existing
        self.state.next_id += 1
        placed = common_pb2.BrokerOrder(
            broker_order_id=self.state.next_id,
            perm_id=self.state.next_id * 10,
            account_id=account,
            order=order,
            status="Submitted",
            filled="0",
            remaining=order.quantity,
            avg_fill_price="0",
            order_ref=ref,
            parent_id=parent,
        )
        self.state.orders[placed.broker_order_id] = placed
        return placed

    def _closed(self, context: grpc.ServicerContext) -> None:
        # Called under self.lock, as SetKillSwitch takes it: like the real writer, a close that
        # has returned leaves no check-then-place window for a write already past the check.
        if self.state.kill_switch != common_pb2.KILL_SWITCH_STATE_OPEN:
            context.abort_with_status(
                status_with_reason(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "WRITER_KILL_SWITCH_CLOSED",
                    "writer switch closed",
                )
            )

    def SubmitOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("SubmitOrder", request)
        self._maybe_refuse(context)
        with self.lock:
            self._closed(context)
            placed = self._place(
                context, request.account_id, request.order, request.idempotency_key
            )
            delay = self.state.submit_delay_s
        if delay:
            time.sleep(delay)  # placed already: an answer lost to a deadline
        return writer_pb2.WriterOrderResult(order=placed)

    def SubmitBracket(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("SubmitBracket", request)
        self._maybe_refuse(context)
        key = request.idempotency_key
        with self.lock:
            self._closed(context)
            parent = self._place(context, request.account_id, request.parent, key)
            take = self._place(
                context,
                request.account_id,
                request.take_profit,
                f"{key}~tp",
                parent.broker_order_id,
            )
            stop = self._place(
                context, request.account_id, request.stop_loss, f"{key}~sl", parent.broker_order_id
            )
        return writer_pb2.WriterBracketResult(parent=parent, take_profit=take, stop_loss=stop)

    def CancelOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("CancelOrder", request)
        self._maybe_refuse(context)
        with self.lock:
            self._closed(context)
            order = self.state.orders.get(request.broker_order_id)
            if order is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no such order")
            order.status = "Cancelled"
        return writer_pb2.WriterOrderResult(order=order)

    def ModifyOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("ModifyOrder", request)
        self._maybe_refuse(context)
        with self.lock:
            self._closed(context)
            order = self.state.orders.get(request.broker_order_id)
            if order is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no such order")
            ch = request.changes
            if ch.HasField("quantity"):
                order.order.quantity = ch.quantity
            if ch.HasField("limit_price"):
                order.order.limit_price = ch.limit_price
            if ch.HasField("stop_price"):
                order.order.stop_price = ch.stop_price
            if ch.HasField("time_in_force"):
                order.order.time_in_force = ch.time_in_force
        return writer_pb2.WriterOrderResult(order=order)

    def GetOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("GetOrder", request)
        with self.lock:
            found = None
            for order in self.state.orders.values():
                if (
                    request.WhichOneof("key") == "order_ref"
                    and order.order_ref == request.order_ref
                ):
                    found = order
                if (
                    request.WhichOneof("key") == "broker_order_id"
                    and order.broker_order_id == request.broker_order_id
                ):
                    found = order
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such order")
        return writer_pb2.WriterOrderResult(order=found, reconciled=True)

    def GetQuote(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("GetQuote", request)
        with self.lock:
            bid, ask, last = self.state.quotes.get(
                request.instrument.symbol, ("100.00", "100.02", "100.01")
            )
            as_of = self.state.quote_as_of or time.time()
        quote = writer_pb2.Quote(instrument=request.instrument, bid=bid, ask=ask, last=last)
        quote.as_of.FromNanoseconds(int(as_of * 1e9))
        return quote

    def SetKillSwitch(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("SetKillSwitch", request)
        hold = self.state.close_hold
        if hold is not None and request.state == common_pb2.KILL_SWITCH_STATE_CLOSED:
            if not request.resend:
                hold.wait(10)
        with self.lock:
            st = self.state
            closing = request.state == common_pb2.KILL_SWITCH_STATE_CLOSED
            # A resent CLOSED older than the writer's version is a stale heartbeat: ignored.
            if not (request.resend and closing and request.version < st.kill_switch_version):
                st.kill_switch_seen = max(st.kill_switch_seen, request.version)
                if closing:
                    st.kill_switch_open_floor = st.kill_switch_seen
                    st.kill_switch, st.kill_switch_version = request.state, request.version
                elif request.version > st.kill_switch_open_floor and (
                    st.kill_switch != common_pb2.KILL_SWITCH_STATE_OPEN
                    or request.version > st.kill_switch_version
                ):
                    st.kill_switch, st.kill_switch_version = request.state, request.version
            return writer_pb2.WriterKillSwitchAnswer(
                kill_switch=common_pb2.KillSwitch(
                    state=self.state.kill_switch, version=self.state.kill_switch_version
                )
            )

    def GetKillSwitch(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            return common_pb2.KillSwitch(
                state=self.state.kill_switch, version=self.state.kill_switch_version
            )

    def CancelAllOrders(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("CancelAllOrders", request)
        with self.lock:
            open_orders = [o for o in self.state.orders.values() if o.status == "Submitted"]
            for order in open_orders:
                order.status = "Cancelled"
            # Like the real writer: only orders with a livegate orderRef (all of the fake's),
            # each listed as the read-back shows it.
            return writer_pb2.CancelAllOrdersResponse(
                cancelled_orders=len(open_orders),
                cancelled=open_orders,
                broker_wide=request.broker_wide,
            )

    def ListOpenOrders(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            self.state.open_order_lists += 1
            unavailable = self.state.open_orders_unavailable
            ids = [o.broker_order_id for o in self.state.orders.values() if o.status == "Submitted"]
        if unavailable:
            context.abort_with_status(
                status_with_reason(grpc.StatusCode.UNAVAILABLE, "BROKER_UNAVAILABLE", "reconciling")
            )
        return writer_pb2.ListOpenOrdersResponse(broker_order_ids=ids)

    def GetPermission(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            state = self.state
            role, accounts, gateway = state.role, state.accounts, state.gateway
            connected, timeout_s = state.broker_connected, state.broker_timeout_s
            switch = SwitchSnapshot(
                SwitchState.OPEN
                if state.kill_switch == common_pb2.KILL_SWITCH_STATE_OPEN
                else SwitchState.CLOSED,
                "",
                "policy",
                datetime.now(UTC),
                state.kill_switch_version,
            )
        queries, what_if = GATEWAYS[gateway]
        verdict, evidence = decide(role, accounts, list(accounts), dict(queries), what_if)
        probe = ProbeResult(role, accounts, verdict, evidence, datetime.now(UTC))
        return permission_message(probe, [], connected, switch, timeout_s)


@dataclass
class RunningFakeWriter:
    servicer: FakeWriter
    server: grpc.Server
    port: int

    def stop(self) -> None:
        self.server.stop(0.5).wait(2)


def start_fake_writer(pki_dir: Path, port: int = 0) -> RunningFakeWriter:
    """Serve the fake as the dev 'writer' identity; only the 'policy' identity may call it."""
    servicer = FakeWriter()
    principals = PrincipalMap(
        {name: (body["sans"], body["scopes"]) for name, body in writer_principals().items()}
    )
    config = ServerConfig(
        listen=f"127.0.0.1:{port}",
        tls=TLSFiles(pki_dir / "ca.pem", pki_dir / "writer.pem", pki_dir / "writer.key"),
    )
    server, bound, _health = create_server(
        config,
        principals,
        [lambda s: writer_pb2_grpc.add_WriterServiceServicer_to_server(servicer, s)],
        [WRITER_SERVICE_NAME],
    )
    server.start()
    return RunningFakeWriter(servicer, server, bound)
