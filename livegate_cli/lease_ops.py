"""Commands of the dead-man lease: renew or release the caller's own lease, show every lease.

The lease is the caller's certificate identity's (--identity, e.g. the upstream service's):
an operator's identity holds none unless it trades.
"""

from __future__ import annotations

import argparse
from typing import Any

from livegate_api.v1 import policy_pb2
from livegate_cli.ops import _call, _print, _run, _with_target


@_run
def _lease(args: argparse.Namespace) -> int:
    if args.action == "show":
        status = _call(args, "GetLiveStatus", policy_pb2.GetLiveStatusRequest())
        assert isinstance(status, policy_pb2.LiveStatus)
        for lease in status.leases:
            _print(lease)
        return 0
    if args.action == "renew":
        reply = _call(args, "RenewLease", policy_pb2.RenewLeaseRequest(ttl_s=args.ttl))
    else:
        reply = _call(args, "ReleaseLease", policy_pb2.ReleaseLeaseRequest())
    _print(reply)
    return 0


def add_parsers(sub: Any) -> None:
    lease = sub.add_parser(
        "lease", help="the caller's dead-man lease: renew, release; show every lease"
    ).add_subparsers(dest="action", required=True)
    renew = _with_target(
        lease.add_parser("renew", help="opt in, or renew, for --ttl seconds (as --identity)")
    )
    renew.add_argument("--ttl", type=float, required=True, help="seconds (dead_man bounds)")
    renew.set_defaults(handler=_lease)
    _with_target(lease.add_parser("release", help="end the lease cleanly")).set_defaults(
        handler=_lease
    )
    _with_target(lease.add_parser("show", help="every principal's lease")).set_defaults(
        handler=_lease
    )
