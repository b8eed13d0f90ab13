"""Operator commands of the scoped stops: close, reduce, open (request or confirm), list them."""

from __future__ import annotations

import argparse
from typing import Any, Final

from livegate_api.v1 import common_pb2, policy_pb2
from livegate_cli.ops import _call, _print, _run, _with_target

KINDS: Final = {
    "account": policy_pb2.SCOPE_KIND_ACCOUNT,
    "principal": policy_pb2.SCOPE_KIND_PRINCIPAL,
    "strategy": policy_pb2.SCOPE_KIND_STRATEGY,
}
STATES: Final = {
    "close": common_pb2.KILL_SWITCH_STATE_CLOSED,
    "reduce": common_pb2.KILL_SWITCH_STATE_REDUCING,
    "open": common_pb2.KILL_SWITCH_STATE_OPEN,
}


@_run
def _scopes(args: argparse.Namespace) -> int:
    if args.action == "list":
        status = _call(args, "GetLiveStatus", policy_pb2.GetLiveStatusRequest())
        assert isinstance(status, policy_pb2.LiveStatus)
        for stop in status.scoped_stops:
            _print(stop)
        return 0
    request = policy_pb2.SetScopedStopRequest(
        kind=KINDS[args.kind], value=args.value, state=STATES[args.action], reason=args.reason
    )
    reply = _call(args, "SetScopedStop", request)
    assert isinstance(reply, policy_pb2.SetScopedStopResponse)
    _print(reply)
    # A loosening that only recorded a request (an open, or a reduce of a closed scope) leaves
    # the scope as it was: say so by the exit code.
    return 0 if reply.stop.state == request.state else 4


def add_parsers(sub: Any) -> None:
    scope = sub.add_parser(
        "scope", help="stops of one account, upstream principal or strategy tag"
    ).add_subparsers(dest="action", required=True)
    _with_target(scope.add_parser("list", help="the scopes stopped now")).set_defaults(
        handler=_scopes
    )
    for action, text in (
        ("close", "stop the scope's previews, approvals and writes (cancels pass)"),
        (
            "reduce",
            "let only cancels and position-reducing orders through (from open: at once; from "
            "closed: request, or confirm another operator's request)",
        ),
        ("open", "request the reopen, or confirm another operator's request"),
    ):
        parser = _with_target(scope.add_parser(action, help=text))
        parser.add_argument("--kind", required=True, choices=sorted(KINDS))
        parser.add_argument(
            "--value", required=True, help="account id (allowed), principal name or strategy tag"
        )
        parser.add_argument("--reason", required=True)
        parser.set_defaults(handler=_scopes)
