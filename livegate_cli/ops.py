"""Operator commands over mTLS: kill switch, live status, audit, incident report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import json_format, timestamp_pb2
from google.protobuf.message import Message

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_cli import incident, verify_export
from livegate_cli.target import Target, add_target_args, resolve
from livegate_common.errors import error_info

SERVICE = "livegate.v1.PolicyService"
MAX_PAGES = 1000  # a bounded walk: 1000 pages x 1000 events


def _ts(text: str) -> timestamp_pb2.Timestamp:
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(parsed.astimezone(dt.UTC))
    return stamp


def _print(message: Message) -> None:
    print(json_format.MessageToJson(message, preserving_proto_field_name=True, indent=2))


def grpcurl_line(target: Target, method: str, request: Message) -> str:
    body = json_format.MessageToJson(request, preserving_proto_field_name=True, indent=None)
    return f"{target.grpcurl('-d', shlex.quote(body))} {SERVICE}/{method}"


def _call(args: argparse.Namespace, method: str, request: Message) -> Message:
    target = resolve(args)
    if args.show_grpcurl:
        print(f"# {grpcurl_line(target, method, request)}", file=sys.stderr)
    with target.channel() as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        reply: Message = getattr(stub, method)(request, timeout=args.timeout)
    return reply


def _run(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except grpc.RpcError as exc:
            info = error_info(exc)
            reason = info.reason if info else ""
            meta = dict(info.metadata) if info else {}
            print(
                json.dumps(
                    {"error": exc.code().name, "reason": reason, "details": exc.details(), **meta}
                ),
                file=sys.stderr,
            )
            return 1

    return wrapped


_STATES = {
    "close": common_pb2.KILL_SWITCH_STATE_CLOSED,
    "reduce": common_pb2.KILL_SWITCH_STATE_REDUCING,
    "open": common_pb2.KILL_SWITCH_STATE_OPEN,
}
# The writer's answer that confirms each switch state.
_CONFIRMS = {
    common_pb2.KILL_SWITCH_STATE_CLOSED: policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_CLOSED,
    common_pb2.KILL_SWITCH_STATE_REDUCING: policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_REDUCING,
    common_pb2.KILL_SWITCH_STATE_OPEN: policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_OPEN,
}


def _state(name: str) -> common_pb2.KillSwitchState:
    return _STATES[name]


@_run
def _killswitch(args: argparse.Namespace) -> int:
    if args.action == "status":
        reply = _call(args, "GetKillSwitch", policy_pb2.GetKillSwitchRequest())
    elif args.action == "confirm-reopen":
        confirm = policy_pb2.ConfirmReopenRequest(reopen_id=args.reopen_id, reason=args.reason)
        reply = _call(args, "ConfirmReopen", confirm)
        _print(reply)
        assert isinstance(reply, policy_pb2.SetKillSwitchResponse)
        return _confirmed(reply.kill_switch.state, reply)  # OPEN or REDUCING, as requested
    else:
        request = policy_pb2.SetKillSwitchRequest(
            state=_state(args.action),
            reason=args.reason,
            cancel_all_open_orders=bool(getattr(args, "cancel_all", False)),
            broker_wide_cancel=bool(getattr(args, "broker_wide", False)),
        )
        reply = _call(args, "SetKillSwitch", request)
        _print(reply)
        assert isinstance(reply, policy_pb2.SetKillSwitchResponse)
        pending = reply.kill_switch.pending_reopen.reopen_id
        if args.action != "close" and pending:
            print(
                f"reopen requested; the switch stays {_switch_name(reply)} until another "
                f"operator runs `livegate killswitch confirm-reopen {pending} --reason ...`",
                file=sys.stderr,
            )
            return 0
        return _confirmed(_state(args.action), reply)
    _print(reply)
    return 0


def _confirmed(state: common_pb2.KillSwitchState, reply: Message) -> int:
    """0 only when the writer's own switch answered with STATE, the state asked for."""
    assert isinstance(reply, policy_pb2.SetKillSwitchResponse)
    if reply.writer_state == _CONFIRMS.get(state):
        return 0
    said = policy_pb2.WriterSwitchState.Name(reply.writer_state)
    asked = common_pb2.KillSwitchState.Name(state).removeprefix("KILL_SWITCH_STATE_")
    print(
        f"the writer's own switch is not confirmed {asked} "
        f"(writer_state {said}): the policy is {_switch_name(reply)}, but check the writer "
        "(see docs/live-runbook.md, 'the writer is not confirmed')",
        file=sys.stderr,
    )
    return 2


def _switch_name(reply: policy_pb2.SetKillSwitchResponse) -> str:
    return common_pb2.KillSwitchState.Name(reply.kill_switch.state).removeprefix(
        "KILL_SWITCH_STATE_"
    )


@_run
def _live_status(args: argparse.Namespace) -> int:
    reply = _call(args, "GetLiveStatus", policy_pb2.GetLiveStatusRequest())
    _print(reply)
    assert isinstance(reply, policy_pb2.LiveStatus)
    return 0 if reply.live_enabled else 3


def _list_request(args: argparse.Namespace) -> policy_pb2.ListAuditEventsRequest:
    request = policy_pb2.ListAuditEventsRequest(page_size=min(args.limit, 1000))
    if args.request_id:
        request.request_id = args.request_id
    if args.idempotency_key:
        request.idempotency_key = args.idempotency_key
    if args.since:
        request.since.CopyFrom(_ts(args.since))
    if args.until:
        request.until.CopyFrom(_ts(args.until))
    return request


def _all_events(
    stub: policy_pb2_grpc.PolicyServiceStub,
    request: policy_pb2.ListAuditEventsRequest,
    timeout: float,
) -> list[policy_pb2.AuditEvent]:
    events: list[policy_pb2.AuditEvent] = []
    for _ in range(MAX_PAGES):
        page = stub.ListAuditEvents(request, timeout=timeout)
        events.extend(page.events)
        if not page.next_after_event_id:
            break
        request.after_event_id = page.next_after_event_id
    return events


@_run
def _audit(args: argparse.Namespace) -> int:
    if args.action == "list":
        reply = _call(args, "ListAuditEvents", _list_request(args))
    elif args.action == "verify":
        reply = _call(args, "VerifyAudit", policy_pb2.VerifyAuditRequest())
        _print(reply)
        assert isinstance(reply, policy_pb2.VerifyAuditResponse)
        return 0 if reply.ok else 4
    elif args.action == "export":
        export = policy_pb2.ExportAuditRequest()
        if args.until:
            export.until.CopyFrom(_ts(args.until))
        reply = _call(args, "ExportAudit", export)
    else:
        purge = policy_pb2.PurgeAuditRequest(before=_ts(args.before), dry_run=args.dry_run)
        reply = _call(args, "PurgeAudit", purge)
    _print(reply)
    return 0


@_run
def _incident(args: argparse.Namespace) -> int:
    if not (args.request_id or args.idempotency_key or (args.since and args.until)):
        print(
            "incident: give --request-id, --idempotency-key, or --since and --until",
            file=sys.stderr,
        )
        return 2
    args.limit = 1000
    target = resolve(args)
    with target.channel() as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        events = _all_events(stub, _list_request(args), args.timeout)
        after: common_pb2.KillSwitch | None = None
        if events:
            following = stub.ListAuditEvents(
                policy_pb2.ListAuditEventsRequest(after_event_id=events[-1].event_id, page_size=1),
                timeout=args.timeout,
            ).events
            if following:
                after = common_pb2.KillSwitch(state=following[0].kill_switch_state)
            else:
                after = stub.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=args.timeout)
    selector = (
        f"request id {args.request_id}" if args.request_id
        else f"idempotency key {args.idempotency_key}" if args.idempotency_key
        else f"{args.since} .. {args.until}"
    )  # fmt: skip
    print(incident.render(selector, events, after))
    return 0


def _with_target(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_target_args(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call")
    return parser


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--request-id")
    parser.add_argument("--idempotency-key")
    parser.add_argument("--since", help="ISO 8601 time (UTC if no zone)")
    parser.add_argument("--until", help="ISO 8601 time (UTC if no zone)")


def add_parsers(sub: Any) -> None:
    ks = sub.add_parser(
        "killswitch", help="kill switch status / close / reduce / open / confirm-reopen"
    ).add_subparsers(dest="action", required=True)
    _with_target(ks.add_parser("status")).set_defaults(handler=_killswitch)
    close = _with_target(ks.add_parser("close", help="stop every live write now"))
    close.add_argument("--reason", required=True)
    close.add_argument(
        "--cancel-all", action="store_true", help="also cancel the open orders livegate placed"
    )
    close.add_argument(
        "--broker-wide",
        action="store_true",
        help="with --cancel-all: IB's global cancel (hand-placed and other programs' orders too)",
    )
    close.set_defaults(handler=_killswitch)
    reduce = _with_target(
        ks.add_parser(
            "reduce",
            help="reduce-only: cancels and position-reducing orders pass, the writer judging "
            "each against the broker's positions; at once from OPEN, a guarded reopen from CLOSED",
        )
    )
    reduce.add_argument("--reason", required=True)
    reduce.set_defaults(handler=_killswitch)
    opened = _with_target(ks.add_parser("open", help="allow live writes (if enablement holds)"))
    opened.add_argument("--reason", required=True)
    opened.set_defaults(handler=_killswitch)
    confirm = _with_target(
        ks.add_parser("confirm-reopen", help="as a second operator: confirm a pending reopen")
    )
    confirm.add_argument("reopen_id", help="kill_switch.pending_reopen.reopen_id")
    confirm.add_argument("--reason", required=True)
    confirm.set_defaults(handler=_killswitch)

    _with_target(sub.add_parser("live-status", help="each enablement condition")).set_defaults(
        handler=_live_status
    )

    audit = sub.add_parser("audit", help="audit trail").add_subparsers(dest="action", required=True)
    listing = _with_target(audit.add_parser("list"))
    _filters(listing)
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(handler=_audit)
    _with_target(audit.add_parser("verify")).set_defaults(handler=_audit)
    export = _with_target(audit.add_parser("export"))
    export.add_argument("--until")
    export.set_defaults(handler=_audit)
    purge = _with_target(audit.add_parser("purge"))
    purge.add_argument("--before", required=True)
    purge.add_argument("--dry-run", action="store_true")
    purge.set_defaults(handler=_audit)
    verify_export.add_parser(audit)

    report = _with_target(
        sub.add_parser("incident", help="fill the Incident Review Template from the audit trail")
    )
    _filters(report)
    report.set_defaults(handler=_incident)
