"""Ask a livegate service's grpc.health.v1 endpoint over mTLS; exit 0 only when SERVING.

--wait keeps asking until then; --unit stops the wait as soon as systemd shows the unit down for
good (exited, and not to be restarted) and says how it exited; --condition also needs
that enablement condition of the policy's GetLiveStatus to pass (writer.permission: the policy
reaches its writer, whose probe matched the role).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

EXIT_UNHEALTHY = 1
# The unit stopped and systemd will not start it again: waiting longer cannot help.
EXIT_UNIT_DOWN = 3
# Unit states from which a service can still come up (auto-restart shows as activating).
_COMING_UP = ("active", "activating", "reloading", "deactivating")


def _credentials(args: argparse.Namespace) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=args.ca.read_bytes(),
        private_key=args.key.read_bytes(),
        certificate_chain=args.cert.read_bytes(),
    )


def _serving(channel: grpc.Channel, args: argparse.Namespace) -> tuple[bool, str]:
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        reply = stub.Check(
            health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
        )
    except grpc.RpcError as exc:
        return False, f"UNHEALTHY {exc.code().name}: {exc.details()}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return reply.status == health_pb2.HealthCheckResponse.SERVING, status


def _condition(channel: grpc.Channel, args: argparse.Namespace) -> tuple[bool, str]:
    # Imported here: a plain health check needs nothing of livegate's own.
    from livegate_api.v1 import policy_pb2, policy_pb2_grpc

    stub = policy_pb2_grpc.PolicyServiceStub(channel)
    try:
        reply = stub.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=args.timeout)
    except grpc.RpcError as exc:
        return False, f"GetLiveStatus {exc.code().name}: {exc.details()}"
    for condition in reply.conditions:
        if condition.name == args.condition:
            verdict = "passed" if condition.passed else "failed"
            return condition.passed, f"{condition.name} {verdict}: {condition.detail}"
    return False, f"{args.condition}: no such condition"


def unit_down(unit: str) -> str | None:
    """How UNIT ended when systemd will not bring it back, or None while it may still come up."""
    try:
        shown = subprocess.run(
            ["systemctl", "show", unit, "--property=ActiveState,Result,ExecMainStatus"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    props = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
    state = props.get("ActiveState", "")
    # No answer from systemd is no proof the unit is down: keep waiting until the deadline.
    if shown.returncode != 0 or not state or state in _COMING_UP:
        return None
    return (
        f"UNIT_DOWN {unit} state={state} "
        f"result={props.get('Result', '?')} exit_status={props.get('ExecMainStatus', '?')}"
    )


def check_once(args: argparse.Namespace) -> tuple[bool, str]:
    options = []
    if args.server_name:
        options.append(("grpc.ssl_target_name_override", args.server_name))
    with grpc.secure_channel(args.target, _credentials(args), options=options) as channel:
        ok, said = _serving(channel, args)
        if ok and args.condition:
            ok, said = _condition(channel, args)
    return ok, said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livegate-health", description=__doc__)
    parser.add_argument("--target", required=True, help="host:port")
    parser.add_argument("--service", default="", help="service name; '' is the whole server")
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--server-name", default=None, help="name the server cert must match")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per call")
    parser.add_argument("--wait", type=float, default=0.0, help="seconds to keep asking")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between asks")
    parser.add_argument("--unit", default="", help="systemd unit; stop waiting once it is down")
    parser.add_argument("--condition", default="", help="GetLiveStatus condition that must pass")
    args = parser.parse_args(argv)
    started = time.monotonic()
    deadline = started + args.wait
    while True:
        ok, said = check_once(args)
        if ok:
            print(said)
            return 0
        down = unit_down(args.unit) if args.unit else None
        if down is not None:
            waited = time.monotonic() - started
            print(
                f"{down} (waited {waited:.1f}s of {args.wait:g}s); last answer: {said}",
                file=sys.stderr,
            )
            return EXIT_UNIT_DOWN
        left = deadline - time.monotonic()
        if left <= 0:
            # A serving status (NOT_SERVING, ...) is an answer; anything else is an error.
            status = said in health_pb2.HealthCheckResponse.ServingStatus.keys()
            print(said, file=sys.stdout if status else sys.stderr)
            return EXIT_UNHEALTHY
        # The last ask lands on the deadline, not an interval before it.
        time.sleep(min(args.interval, left))


if __name__ == "__main__":
    sys.exit(main())
