"""livegate dev: the local stack on embedded defaults, for a newcomer and for CI."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from livegate_cli.procs import Supervisor
from livegate_common import devconfig
from livegate_common.pki import init_dev_pki
from livegate_common.tls import TLSFiles, secure_channel

DEFAULT_HOME = Path(".livegate/dev")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("dev", help="run the local stack (and optionally its demo)")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="state, certs and logs")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run the demo, stop everything, exit 0 only if it passed",
    )
    parser.set_defaults(handler=run)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _wait_serving(pki: Path, port: int, timeout_s: float = 30.0) -> bool:
    files = TLSFiles(ca=pki / "ca.pem", cert=pki / "operator.pem", key=pki / "operator.key")
    deadline = time.monotonic() + timeout_s
    with secure_channel(f"localhost:{port}", files) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    return False


def run(args: argparse.Namespace) -> int:
    home: Path = args.home.resolve()
    if home.exists():
        shutil.rmtree(home)
    pki = home / "pki"
    init_dev_pki(pki)
    supervisor = Supervisor(log_dir=home / "logs")
    policy_port, writer_port = _free_port(), _free_port()
    # Until the full stack lands, the operator identity may also call health on the writer.
    operator_on_writer = {
        **devconfig.writer_principals(),
        "operator": {"sans": ["spiffe://livegate.dev/operator"], "scopes": []},
    }
    writer_cfg = _write_yaml(
        home / "writer.yaml",
        {
            "server": {
                "listen": f"127.0.0.1:{writer_port}",
                "tls": devconfig.tls_section(pki, "writer"),
            },
            "principals": operator_on_writer,
        },
    )
    policy_cfg = _write_yaml(
        home / "policy.yaml",
        {
            "server": {
                "listen": f"127.0.0.1:{policy_port}",
                "tls": devconfig.tls_section(pki, "policy"),
            },
            "principals": devconfig.policy_principals(),
        },
    )
    bindir = Path(sys.executable).parent
    try:
        supervisor.start("writer", [str(bindir / "livegate-writer"), "--config", str(writer_cfg)])
        supervisor.start("policy", [str(bindir / "livegate-policy"), "--config", str(policy_cfg)])
        for name, port in (("writer", writer_port), ("policy", policy_port)):
            if not _wait_serving(pki, port):
                print(f"FAIL {name} did not become healthy; see {supervisor.log_dir / name}.log")
                return 1
            print(f"ok   {name} serving on 127.0.0.1:{port}")
        grpcurl = f"grpcurl -cacert {pki}/ca.pem -cert {pki}/operator.pem -key {pki}/operator.key"
        print(f"\nlist:   {grpcurl} localhost:{policy_port} list")
        print(f"health: {grpcurl} localhost:{policy_port} grpc.health.v1.Health/Check")
        print(f"logs:   {supervisor.log_dir}")
        if args.demo:
            return 0
        print("\nCtrl-C stops everything.")
        while not supervisor.check_alive():
            time.sleep(0.5)
        print(f"stopped unexpectedly: {supervisor.check_alive()}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        supervisor.stop()
        print("stack stopped")
