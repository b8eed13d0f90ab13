"""The scripted demo: preview, approve, submit, modify, bracket, kill switch closed and opened."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import grpc
from google.protobuf.message import Message

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_cli.ops import grpcurl_line
from livegate_cli.target import Target
from livegate_common.errors import error_info
from livegate_common.tls import TLSFiles

ACCOUNT = "U1234567"
T = TypeVar("T", bound=Message)


class DemoFailed(Exception):
    pass


# The callers' identities the demo acts as; a host that runs the demo needs each one's files.
CALLERS: Final = ("upstream", "approver", "operator", "operator2")


class Actors:
    """One stub per dev identity: who does what is the point of the demo."""

    def __init__(self, pki: Path, address: str):
        self.targets = {
            name: Target(
                address,
                TLSFiles(ca=pki / "ca.pem", cert=pki / f"{name}.pem", key=pki / f"{name}.key"),
            )
            for name in CALLERS
        }
        self._channels = {name: t.channel() for name, t in self.targets.items()}
        self.upstream, self.approver, self.operator, self.operator2 = (
            policy_pb2_grpc.PolicyServiceStub(self._channels[n]) for n in CALLERS
        )

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


def _say(text: str) -> None:
    print(text, flush=True)


def _call(label: str, func: Callable[[], T]) -> T:
    try:
        reply = func()
    except grpc.RpcError as exc:
        info = error_info(exc)
        detail = info.reason if info else exc.details()
        raise DemoFailed(f"{label}: {exc.code().name} {detail}") from exc
    _say(f"ok   {label}")
    return reply


def _key() -> str:
    return f"demo-{secrets.token_hex(8)}"


def _stock(symbol: str) -> common_pb2.Instrument:
    return common_pb2.Instrument(symbol=symbol, sec_type=common_pb2.SEC_TYPE_STOCK)


def _limit(symbol: str, action: int, qty: str, price: str) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=_stock(symbol), action=action, quantity=qty,  # type: ignore[arg-type]
        order_type=common_pb2.ORDER_TYPE_LIMIT, limit_price=price,
        time_in_force=common_pb2.TIME_IN_FORCE_DAY,
    )  # fmt: skip


def _set_switch(a: Actors, state: int, reason: str) -> policy_pb2.SetKillSwitchResponse:
    request = policy_pb2.SetKillSwitchRequest(state=state, reason=reason)  # type: ignore[arg-type]
    name = common_pb2.KillSwitchState.Name(state).removeprefix("KILL_SWITCH_STATE_")
    _say(f"     operator: {grpcurl_line(a.targets['operator'], 'SetKillSwitch', request)}")
    reply = _call(
        f"operator sets the kill switch {name}",
        lambda: a.operator.SetKillSwitch(request, timeout=10),
    )
    reopen_id = reply.kill_switch.pending_reopen.reopen_id
    if reopen_id:  # a reopen waits for a second operator's confirmation
        confirm = policy_pb2.ConfirmReopenRequest(reopen_id=reopen_id, reason=reason)
        line = grpcurl_line(a.targets["operator2"], "ConfirmReopen", confirm)
        _say(f"     operator2: {line}")
        reply = _call(
            "a second operator confirms the reopen",
            lambda: a.operator2.ConfirmReopen(confirm, timeout=10),
        )
    if reply.kill_switch.state != state or not reply.writer_synced:
        raise DemoFailed(f"kill switch not {name} on both sides: {reply}")
    return reply


def _approved_order(a: Actors, order: common_pb2.Order) -> tuple[str, str]:
    preview = _call(
        f"upstream previews {order.instrument.symbol} {order.quantity} @ {order.limit_price}",
        lambda: a.upstream.CreateOrderPreview(
            policy_pb2.CreateOrderPreviewRequest(account_id=ACCOUNT, order=order), timeout=10
        ),
    )
    _say(f"     preview {preview.preview_id}: reference {preview.reference_price}, "
         f"notional {preview.estimated_notional}, would pass: {preview.would_pass}")  # fmt: skip
    approval = _call(
        "approver approves it (four eyes)",
        lambda: a.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id), timeout=10
        ),
    )
    return preview.preview_id, approval.approval_id


def _acknowledge(a: Actors) -> None:
    """The operator records the paper-to-live walk-through for the deployed risk policy."""
    status = a.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    if status.checklist.valid:
        return
    request = policy_pb2.AcknowledgeChecklistRequest(
        risk_policy_digest=status.risk_policy_digest, note="dev stack demo"
    )
    _say(f"     operator: {grpcurl_line(a.targets['operator'], 'AcknowledgeChecklist', request)}")
    _call(
        "operator acknowledges the paper-to-live checklist",
        lambda: a.operator.AcknowledgeChecklist(request, timeout=10),
    )


def _script(a: Actors) -> None:
    _acknowledge(a)
    switch = a.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=10)
    if switch.state != common_pb2.KILL_SWITCH_STATE_OPEN:
        _set_switch(a, common_pb2.KILL_SWITCH_STATE_OPEN, "start of the demo session")

    preview_id, approval_id = _approved_order(
        a, _limit("AAPL", common_pb2.ACTION_BUY, "10", "185.00")
    )
    submitted = _call(
        "upstream submits it",
        lambda: a.upstream.SubmitOrder(
            policy_pb2.SubmitOrderRequest(
                account_id=ACCOUNT, preview_id=preview_id, approval_id=approval_id,
                idempotency_key=_key(),
            ),
            timeout=15,
        ),
    )  # fmt: skip
    order_id = submitted.order.broker_order_id
    _say(f"     broker order {order_id}: {submitted.order.status}")

    changes = common_pb2.OrderChanges(limit_price="186.00")
    modify_preview = _call(
        f"upstream previews a modify of {order_id}: limit 186.00",
        lambda: a.upstream.CreateModifyPreview(
            policy_pb2.CreateModifyPreviewRequest(
                account_id=ACCOUNT, broker_order_id=order_id, changes=changes
            ),
            timeout=10,
        ),
    )
    modify_approval = _call(
        "approver approves the replacement",
        lambda: a.approver.ApprovePreview(
            policy_pb2.ApprovePreviewRequest(preview_id=modify_preview.preview_id), timeout=10
        ),
    )
    modified = _call(
        "upstream modifies the order",
        lambda: a.upstream.ModifyOrder(
            policy_pb2.ModifyOrderRequest(
                account_id=ACCOUNT, broker_order_id=order_id,
                approval_id=modify_approval.approval_id, preview_id=modify_preview.preview_id,
                idempotency_key=_key(), changes=changes,
            ),
            timeout=15,
        ),
    )  # fmt: skip
    _say(f"     broker now holds limit {modified.order.order.limit_price}")
    if modified.order.order.limit_price not in ("186", "186.00", "186.0"):
        raise DemoFailed(f"the broker holds {modified.order.order.limit_price}, not 186.00")

    bracket = _call(
        "upstream previews a bracket: buy 5 AAPL @ 189.30, take profit 195.00, stop 185.00",
        lambda: a.upstream.CreateBracketPreview(
            policy_pb2.CreateBracketPreviewRequest(
                account_id=ACCOUNT, instrument=_stock("AAPL"), action=common_pb2.ACTION_BUY,
                quantity="5", entry_limit_price="189.30", take_profit_price="195.00",
                stop_loss_price="185.00", time_in_force=common_pb2.TIME_IN_FORCE_DAY,
            ),
            timeout=10,
        ),
    )  # fmt: skip
    legs = (bracket.parent, bracket.take_profit, bracket.stop_loss)
    approvals = [
        _call(
            f"approver approves the {name} leg",
            lambda leg=leg: a.approver.ApprovePreview(  # type: ignore[misc]
                policy_pb2.ApprovePreviewRequest(preview_id=leg.preview_id), timeout=10
            ),
        ).approval_id
        for name, leg in zip(("parent", "take-profit", "stop-loss"), legs, strict=True)
    ]
    placed = _call(
        "upstream submits the bracket (broker-native parent/children, one OCA group)",
        lambda: a.upstream.SubmitBracket(
            policy_pb2.SubmitBracketRequest(
                account_id=ACCOUNT, parent_preview_id=legs[0].preview_id,
                take_profit_preview_id=legs[1].preview_id, stop_loss_preview_id=legs[2].preview_id,
                parent_approval_id=approvals[0], take_profit_approval_id=approvals[1],
                stop_loss_approval_id=approvals[2], idempotency_key=_key(),
            ),
            timeout=15,
        ),
    )  # fmt: skip
    _say(f"     parent {placed.parent.broker_order_id} {placed.parent.status}, children "
         f"{placed.take_profit.broker_order_id}/{placed.stop_loss.broker_order_id} "
         f"in OCA {placed.take_profit.oca_group}")  # fmt: skip

    _set_switch(a, common_pb2.KILL_SWITCH_STATE_CLOSED, "demo: emergency stop")
    preview_id, approval_id = _approved_order(
        a, _limit("AAPL", common_pb2.ACTION_BUY, "1", "185.00")
    )
    try:
        a.upstream.SubmitOrder(
            policy_pb2.SubmitOrderRequest(
                account_id=ACCOUNT, preview_id=preview_id, approval_id=approval_id,
                idempotency_key=_key(),
            ),
            timeout=10,
        )  # fmt: skip
    except grpc.RpcError as exc:
        info = error_info(exc)
        if info is None or info.reason != "KILL_SWITCH_CLOSED":
            raise DemoFailed(
                f"submit refused for the wrong reason: {exc.code().name} {info}"
            ) from exc
        _say(f"ok   submit refused while closed: {exc.code().name} {info.reason}")
    else:
        raise DemoFailed("a submit passed while the kill switch was closed")
    _set_switch(a, common_pb2.KILL_SWITCH_STATE_OPEN, "demo: all clear")

    verified = a.operator.VerifyAudit(policy_pb2.VerifyAuditRequest(), timeout=10)
    if not verified.ok:
        raise DemoFailed(f"audit chain does not verify: {verified.problem}")
    _say(
        f"ok   audit chain verifies: {verified.events_checked} events, "
        f"head {verified.head_hash[:16]}"
    )
    _say("     incident report: livegate incident --request-id <id>  (audit: livegate audit list)")


def acknowledge_checklist(pki: Path, address: str) -> None:
    """The operator's paper-to-live acknowledgement, unless a valid one is recorded already."""
    actors = Actors(pki, address)
    try:
        _acknowledge(actors)
    finally:
        actors.close()


def run(pki: Path, address: str) -> bool:
    """Run the demo against the policy service at ADDRESS; True when every step did as it should."""
    actors = Actors(pki, address)
    try:
        _script(actors)
    except DemoFailed as exc:
        _say(f"FAIL {exc}")
        return False
    finally:
        actors.close()
    _say("demo passed")
    return True


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "demo", help="run the scripted demo against a running policy service (live on U1234567)"
    )
    parser.add_argument("--target", required=True, help="policy service host:port")
    parser.add_argument(
        "--pki",
        type=Path,
        required=True,
        help="directory with ca.pem and upstream/approver/operator/operator2",
    )
    parser.set_defaults(handler=lambda args: 0 if run(args.pki, args.target) else 1)
