"""livegate dev: the whole local stack on embedded defaults, and its scripted demo."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import hvac
import requests
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from livegate_cli import demo, openbao
from livegate_cli.procs import Supervisor
from livegate_client import Client, KillSwitchState
from livegate_client import TlsFiles as ClientTls
from livegate_common import devconfig
from livegate_common.pki import init_dev_pki
from livegate_common.tls import TLSFiles, secure_channel

DEFAULT_HOME = Path(".livegate/dev")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "upstream_service.py"
EXAMPLE_TIMEOUT_S = 120
DEV_ACCOUNT = "U1234567"
# The policy's data directory under the dev home (its database, risk policy, account-hash key).
POLICY_DATA = "policy-data"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Ports:
    vault: int
    gateway: int
    writer: int
    policy: int
    policy_metrics: int
    writer_metrics: int


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("dev", help="run the local stack (and optionally its demo)")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="state, certs and logs")
    parser.add_argument("--policy-port", type=int, default=50051, help="0 picks a free port")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run the demo, stop everything, exit 0 only if it passed",
    )
    parser.add_argument(
        "--example",
        action="store_true",
        help=f"run {EXAMPLE.relative_to(EXAMPLE.parents[1])} (livegate_client) instead of the "
        "demo, stop everything, exit with its status",
    )
    parser.set_defaults(handler=run)


def run_example(home: Path, ports: Ports) -> bool:
    """The example upstream service against this stack, its kill-switch drill included."""
    if not EXAMPLE.is_file():
        print(f"FAIL no example at {EXAMPLE} (it ships in the source tree, not the wheel)")
        return False
    # The stack starts closed; opening it is the operator's call, made here as the demo does,
    # after the checklist acknowledgement writes need.
    demo.acknowledge_checklist(home / "pki", f"localhost:{ports.policy}")
    operator = ClientTls.from_dir(home / "pki", "operator")
    with Client.connect(f"localhost:{ports.policy}", operator) as client:
        opened = client.set_kill_switch(KillSwitchState.OPEN, "dev: start of the example")
    pending = opened.kill_switch.pending_reopen
    if pending is not None:  # a live desk reopens with two operators: the second confirms
        second = ClientTls.from_dir(home / "pki", "operator2")
        with Client.connect(f"localhost:{ports.policy}", second) as client:
            opened = client.confirm_reopen(pending.reopen_id, "dev: start of the example")
    synced = opened.writer_synced
    print(f"ok   operator opened the kill switch (writer synced: {synced})", flush=True)
    argv = [sys.executable, str(EXAMPLE), "--target", f"localhost:{ports.policy}",
            "--pki", str(home / "pki"), "--drill"]  # fmt: skip
    print(f"     {' '.join(argv)}", flush=True)
    return subprocess.run(argv, check=False, timeout=EXAMPLE_TIMEOUT_S).returncode == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _wait(predicate: Any, timeout_s: float = START_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _serving(pki: Path, identity: str, port: int) -> bool:
    files = TLSFiles(ca=pki / "ca.pem", cert=pki / f"{identity}.pem", key=pki / f"{identity}.key")
    with secure_channel(f"localhost:{port}", files) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _provision_vault(addr: str, root_token: str, gateway_port: int, home: Path) -> dict[str, Any]:
    """Policies and AppRoles for every role, the W broker secret, a wrapped secret-id for W."""
    from livegate_common.vault_layout import provision, wrapped_secret_id, write_broker_secret
    from policy_service.devconfig import account_hash_key
    from writer_service.config import Role

    client = hvac.Client(url=addr, token=root_token, timeout=5)
    role_ids = {p.role: p.role_id for p in provision(client)}
    write_broker_secret(
        client,
        Role.W,
        {
            "gateway_host": "127.0.0.1",
            "gateway_port": gateway_port,
            "client_id": 7,
            "accounts": DEV_ACCOUNT,
            "account_hash_key": account_hash_key(home / POLICY_DATA),
        },
    )
    wrap_file = home / "writer-secret-id.wrap"
    fd = os.open(wrap_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(wrapped_secret_id(client, Role.W))
    return {
        "addr": addr,
        "role_id": role_ids[Role.W],
        "wrapped_secret_id_file": str(wrap_file),
        "secret_path": "livegate/W/broker",
    }


def _writer_config(
    home: Path, pki: Path, port: int, metrics_port: int, vault: dict[str, Any]
) -> Path:
    return _write_yaml(
        home / "writer.yaml",
        {
            "role": "W",
            "server": {"listen": f"127.0.0.1:{port}", "tls": devconfig.tls_section(pki, "writer")},
            "principals": devconfig.writer_principals(),
            "vault": vault,
            "broker": {
                "connect_timeout_s": 10,
                "probe_timeout_s": 5,
                "request_timeout_s": devconfig.DEV_BROKER_TIMEOUT_S,
            },
            "kill_switch": {"policy_peer_timeout_s": 10},
            "logging": {"level": "INFO"},
            "metrics": {"listen": f"127.0.0.1:{metrics_port}"},
        },
    )


def _policy_config(home: Path, pki: Path, ports: Ports) -> Path:
    from policy_service.devconfig import dev_config

    doc = dev_config(
        pki, home / POLICY_DATA, ports.writer, DEV_ACCOUNT, listen=f"127.0.0.1:{ports.policy}"
    )
    doc["metrics"] = {"listen": f"127.0.0.1:{ports.policy_metrics}"}
    return _write_yaml(home / "policy.yaml", doc)


def _step(ok: bool, text: str) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {text}", flush=True)
    return ok


def start_stack(home: Path, supervisor: Supervisor, policy_port: int) -> Ports | None:
    """Start OpenBao, the simulator, the W writer and the policy service; None on failure."""
    pki = home / "pki"
    init_dev_pki(pki)
    ports = Ports(
        vault=_free_port(),
        gateway=_free_port(),
        writer=_free_port(),
        policy=policy_port or _free_port(),
        policy_metrics=_free_port(),
        writer_metrics=_free_port(),
    )
    bindir = Path(sys.executable).parent
    token = secrets.token_hex(16)
    addr = f"http://127.0.0.1:{ports.vault}"
    supervisor.start("openbao", openbao.dev_server_argv(ports.vault, token))
    if not _step(_wait(lambda: openbao.healthy(addr)), f"OpenBao dev server on {addr}"):
        return None
    vault = _provision_vault(addr, token, ports.gateway, home)
    _step(True, "Vault: policies and AppRoles for W, R, ABH; W broker secret; wrapped secret-id")
    supervisor.start(
        "gateway-sim",
        [str(bindir / "livegate-gateway-sim"), "--port", str(ports.gateway),
         "--account", DEV_ACCOUNT],
    )  # fmt: skip
    if not _step(_wait(lambda: _tcp_open(ports.gateway)), f"gateway simulator on :{ports.gateway}"):
        return None
    writer_cfg = _writer_config(home, pki, ports.writer, ports.writer_metrics, vault)
    supervisor.start("writer", [str(bindir / "livegate-writer"), "--config", str(writer_cfg)])
    if (
        not _step(
            _wait(lambda: _serving(pki, "policy", ports.writer) or bool(supervisor.check_alive())),
            f"writer as W on :{ports.writer} (secret-id unwrapped, probe passed)",
        )
        or supervisor.check_alive()
    ):
        return None
    policy_cfg = _policy_config(home, pki, ports)
    supervisor.start("policy", [str(bindir / "livegate-policy"), "--config", str(policy_cfg)])
    if (
        not _step(
            _wait(
                lambda: _serving(pki, "operator", ports.policy) or bool(supervisor.check_alive())
            ),
            f"policy service on SQLite on :{ports.policy}",
        )
        or supervisor.check_alive()
    ):
        return None
    (home / "stack.json").write_text(
        json.dumps({"policy_port": ports.policy, "pki": str(pki), "writer_port": ports.writer})
    )
    return ports


_SHOWN_METRICS = (
    "livegate_kill_switch_closed ",
    "livegate_audit_chain_head_event_id ",
    "livegate_audit_anchored_event_id ",
    "livegate_audit_chain_broken ",
    'livegate_refusals_total{method="SubmitOrder",reason="KILL_SWITCH_CLOSED"}',
    'livegate_request_seconds_count{method="SubmitOrder"}',
    "livegate_unexplained_broker_orders ",
)


def _show_metrics(ports: Ports) -> None:
    """A few lines of each service's /metrics, so the demo shows where to look."""
    for name, port in (("policy", ports.policy_metrics), ("writer", ports.writer_metrics)):
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            text = requests.get(url, timeout=5).text
        except requests.exceptions.RequestException as exc:
            print(f"FAIL metrics of the {name}: {type(exc).__name__}")
            continue
        print(f"     {name} metrics at {url}:")
        for line in text.splitlines():
            if line.startswith(_SHOWN_METRICS):
                print(f"       {line}")


def run(args: argparse.Namespace) -> int:
    home: Path = args.home.resolve()
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    supervisor = Supervisor(log_dir=home / "logs")
    try:
        ports = start_stack(home, supervisor, args.policy_port)
        if ports is None:
            dead = supervisor.check_alive()
            print(f"stack did not start (exited: {dead}); logs in {supervisor.log_dir}")
            return 1
        print(f"logs: {supervisor.log_dir}/*.log\n", flush=True)
        if args.example:
            passed = run_example(home, ports)
            print("example passed" if passed else "FAIL example", flush=True)
            return 0 if passed else 1
        passed = demo.run(home / "pki", f"localhost:{ports.policy}")
        _show_metrics(ports)
        if args.demo:
            return 0 if passed else 1
        print("\nThe stack keeps running; Ctrl-C stops everything.", flush=True)
        while not supervisor.check_alive():
            time.sleep(0.5)
        print(f"stopped unexpectedly: {supervisor.check_alive()}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        supervisor.stop()
        (home / "stack.json").unlink(missing_ok=True)
        print("stack stopped", flush=True)
