"""docker/compose.yaml on podman: services started in order, readiness polled, then the demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from tests.deploy.real import images
from tests.deploy.real.engine import Engine
from tests.deploy.real.shell import CheckFailed, Timings, run, say
from tests.support.net import free_port

REPO: Final = Path(__file__).resolve().parents[3]
PROJECT: Final = "livegate-deploytest"
TRACK: Final = "stack"


class ComposeStack:
    """podman-compose cannot `up` a chain of service_healthy conditions on podman 4.3: each
    group is started with --no-deps and polled with `podman healthcheck run` here."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.policy_port = free_port()
        self.env = {
            **engine.env,
            "LIVEGATE_IMAGE_TAG": "deploytest",
            "LIVEGATE_POSTGRES_IMAGE": images.POSTGRES,
            "LIVEGATE_OPENBAO_IMAGE": images.OPENBAO,
            "LIVEGATE_POLICY_PORT": str(self.policy_port),
        }

    def compose(self, *args: str, timeout: float = 300) -> None:
        argv = [str(Path(sys.executable).parent / "podman-compose"), "-p", PROJECT]
        argv += ["-f", str(REPO / "docker/compose.yaml"), *args]
        run(argv, self.engine.logs / "compose.log", env=self.env, timeout=timeout)

    def container(self, service: str) -> str:
        return f"{PROJECT}_{service}_1"

    def up(self) -> None:
        self.compose("up", "-d", "--no-build", "--no-deps", "postgres", "openbao", "gateway-sim")
        for service in ("postgres", "openbao", "gateway-sim"):
            self.engine.wait_healthy(self.container(service), 90)
        self.compose("up", "-d", "--no-build", "--no-deps", "stack-init")
        exit_code = self.engine.podman(
            "wait", self.container("stack-init"), log="compose", timeout=120
        ).stdout.strip()
        if exit_code != "0":
            logs = self.engine.podman("logs", self.container("stack-init"), check=False).stdout
            raise CheckFailed(f"stack-init exited {exit_code}:\n{logs[-3000:]}")
        self.compose("up", "-d", "--no-build", "--no-deps", "policy", "writer")
        for service in ("writer", "policy"):
            self.engine.wait_healthy(self.container(service), 120)

    def pki(self) -> Path:
        """The stack's dev PKI, as stack-init left it in the tls volume."""
        mountpoint = self.engine.podman(
            "volume", "inspect", "--format", "{{.Mountpoint}}", f"{PROJECT}_tls", log="compose"
        ).stdout.strip()
        return Path(mountpoint)

    def audit_rows_in_postgres(self) -> int:
        counted = self.engine.podman(
            "exec", self.container("postgres"), "psql", "--username", "livegate", "--dbname",
            "livegate", "--tuples-only", "--no-align", "--command",
            "SELECT count(*) FROM audit_events", log="compose",
        )  # fmt: skip
        return int(counted.stdout.strip())

    def down(self) -> None:
        self.compose("down", "--volumes", "--timeout", "3", timeout=180)


def run_stack(engine: Engine, timings: Timings) -> dict[str, str]:
    """Up, the demo against the published policy port, the audit trail in PostgreSQL, down."""
    stack = ComposeStack(engine)
    try:
        with timings.step(TRACK, "compose stack up (PostgreSQL, OpenBao, simulator, W)"):
            stack.up()
        with timings.step(TRACK, "demo against the compose stack"):
            demo = run(
                [str(Path(sys.executable).parent / "livegate"), "demo", "--target",
                 f"127.0.0.1:{stack.policy_port}", "--pki", str(stack.pki())],
                engine.logs / "stack-demo.log", timeout=180, check=False,
            )  # fmt: skip
            for line in demo.stdout.splitlines():
                say(TRACK, f"  {line}")
            if demo.returncode != 0 or "demo passed" not in demo.stdout:
                raise CheckFailed(f"the demo failed against the compose stack:\n{demo.stderr}")
        rows = stack.audit_rows_in_postgres()
        if rows < 10:
            raise CheckFailed(f"the policy wrote {rows} audit rows to PostgreSQL, expected >= 10")
        say(TRACK, f"policy on PostgreSQL: {rows} audit events in the stack's database")
        return {"demo": "passed", "audit_rows_postgres": str(rows)}
    finally:
        with timings.step(TRACK, "compose stack down"):
            stack.down()
