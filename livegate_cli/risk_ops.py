"""Operator commands of the risk controls: checklist acknowledgement, principal stops."""

from __future__ import annotations

import argparse
from typing import Any

from livegate_api.v1 import policy_pb2
from livegate_cli.ops import _call, _print, _run, _with_target


@_run
def _checklist(args: argparse.Namespace) -> int:
    if args.action == "status":
        status = _call(args, "GetLiveStatus", policy_pb2.GetLiveStatusRequest())
        assert isinstance(status, policy_pb2.LiveStatus)
        print(f"deployed risk policy digest: {status.risk_policy_digest}")
        print(f"livegate version: {status.livegate_version}")
        if not status.HasField("checklist"):
            print("no acknowledgement recorded")
            return 3
        _print(status.checklist)
        return 0 if status.checklist.valid else 3
    request = policy_pb2.AcknowledgeChecklistRequest(risk_policy_digest=args.digest, note=args.note)
    _print(_call(args, "AcknowledgeChecklist", request))
    return 0


@_run
def _stops(args: argparse.Namespace) -> int:
    if args.action == "list":
        status = _call(args, "GetLiveStatus", policy_pb2.GetLiveStatusRequest())
        assert isinstance(status, policy_pb2.LiveStatus)
        for stop in status.principal_stops:
            _print(stop)
        return 0
    request = policy_pb2.ResetPrincipalStopRequest(principal=args.principal, reason=args.reason)
    _print(_call(args, "ResetPrincipalStop", request))
    return 0


def add_parsers(sub: Any) -> None:
    checklist = sub.add_parser(
        "checklist", help="the paper-to-live checklist acknowledgement"
    ).add_subparsers(dest="action", required=True)
    _with_target(checklist.add_parser("status", help="the latest acknowledgement")).set_defaults(
        handler=_checklist
    )
    ack = _with_target(
        checklist.add_parser(
            "acknowledge", help="record the walk-through (scope checklist.acknowledge)"
        )
    )
    ack.add_argument(
        "--digest", required=True, help="the deployed risk policy digest (checklist status)"
    )
    ack.add_argument("--note", required=True, help="change record, second person, ...")
    ack.set_defaults(handler=_checklist)

    stops = sub.add_parser("stops", help="principals stopped for runaway fills").add_subparsers(
        dest="action", required=True
    )
    _with_target(stops.add_parser("list")).set_defaults(handler=_stops)
    reset = _with_target(stops.add_parser("reset", help="let a stopped principal write again"))
    reset.add_argument("--principal", required=True)
    reset.add_argument("--reason", required=True)
    reset.set_defaults(handler=_stops)
