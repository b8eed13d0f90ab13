"""A throwaway PostgreSQL 15 cluster: initdb into a temp dir, pg_ctl on a free loopback port."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from policy_service.storage.engine import migrate
from tests.support.net import free_port

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin",)
# initdb and postgres refuse to run as root; when the tests run as root they run as this user.
UNPRIVILEGED_USER = "nobody"


def pg_bindir() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
        bindir = Path(out.stdout.strip())
        if (bindir / "initdb").is_file():
            return bindir
    raise RuntimeError("PostgreSQL 15 binaries not found (apt-get install postgresql-15)")


@dataclass(frozen=True)
class PostgresCluster:
    bindir: Path
    datadir: Path
    socket_dir: Path
    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        # Over SQL, not by spawning createdb: a fork from a process that runs gRPC's threads
        # has crashed the child (SIGSEGV in CI), and a test fixture must not be a coin toss.
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self.as_superuser(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def as_superuser(self, *statements: str) -> None:
        """Run STATEMENTS on the postgres database, each in its own transaction (CREATE
        DATABASE refuses to run inside one)."""
        admin = create_engine(
            self.url("postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with admin.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            admin.dispose()

    def create_deployed_database(self, via_cli: bool = False) -> DeployedDatabase:
        """A database as a DBA deploys it: owned by an owner role, which runs the migrations
        and grants the service's own (non-owner, non-superuser) role what it may do; VIA_CLI
        runs them as the runbook says, with `livegate-policy-db migrate`."""
        suffix = uuid.uuid4().hex[:8]
        owner, app, name = f"lg_owner_{suffix}", f"lg_app_{suffix}", f"d_{suffix}"
        self.as_superuser(
            f"CREATE ROLE {owner} LOGIN",
            f"CREATE ROLE {app} LOGIN",
            f"CREATE DATABASE {name} OWNER {owner}",
        )
        owner_url = self.url(name).replace(f"//{self.user}@", f"//{owner}@")
        if via_cli:
            subprocess.run(
                [sys.executable, "-m", "policy_service.dbadmin", "migrate",
                 "--url-env", "LG_OWNER_URL", "--app-role", app],
                env={**os.environ, "LG_OWNER_URL": owner_url},
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        else:
            engine = create_engine(owner_url, poolclass=NullPool)
            try:
                migrate(engine, app_role=app)
            finally:
                engine.dispose()
        return DeployedDatabase(
            owner_url=owner_url,
            app_url=self.url(name).replace(f"//{self.user}@", f"//{app}@"),
            superuser_url=self.url(name),
            app_role=app,
        )


@dataclass(frozen=True)
class DeployedDatabase:
    owner_url: str
    app_url: str
    superuser_url: str
    app_role: str


def _demote() -> dict[str, object]:
    """subprocess kwargs that drop root to the unprivileged user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def run_as_postgres(argv: list[str], **kwargs: object) -> None:
    """Run ARGV as the unprivileged user; once more if the child died of a signal.

    The child is forked from a process that runs gRPC's threads, and such a child has died of
    SIGSEGV before it ran the program (CI, createdb): a signal death is retried once, a failure
    the program itself reports is not.
    """
    for attempt in (1, 2):
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            **_demote(),
            **kwargs,  # type: ignore[call-overload]
        )
        if result.returncode >= 0 or attempt == 2:
            break
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({result.returncode}): {result.stderr[-2000:]}")


def stop_postmaster(datadir: Path, timeout_s: float = 60.0) -> None:
    """Fast shutdown by signal (SIGINT to the postmaster): no fork at teardown."""
    pid_file = datadir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text(encoding="utf-8").splitlines()[0])
    except (OSError, ValueError, IndexError):
        return  # never started, or already gone
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)  # a throwaway cluster: its data goes with it


# Tests trade durability for speed; the benchmark measures the gate as deployed.
FAST_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
DURABLE_OPTIONS = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"


@contextmanager
def postgres_cluster(durable: bool = False) -> Iterator[PostgresCluster]:
    """Start a cluster (trust auth, loopback only, sockets in the temp dir); stop and remove it.

    DURABLE keeps PostgreSQL's durable defaults (fsync, synchronous_commit) for measurements.
    """
    bindir = pg_bindir()
    # Not under pytest's tmp_path: its parents are 0700 root, unreadable for the postgres user.
    base = Path(tempfile.mkdtemp(prefix="livegate-pg-"))
    datadir, socket_dir = base / "data", base / "sock"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (base, socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    cluster = PostgresCluster(bindir, datadir, socket_dir, port)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    run_as_postgres(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        env=env,
    )
    options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c max_connections=300 " + (
        DURABLE_OPTIONS if durable else FAST_OPTIONS
    )
    run_as_postgres(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-o",
            options,
            "-l",
            str(base / "postgres.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        env=env,
    )
    try:
        yield cluster
    finally:
        try:
            stop_postmaster(datadir)
        finally:
            shutil.rmtree(base, ignore_errors=True)
