"""The policy's database made unwritable or unavailable for a while, for the fault tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgresCluster, postgres_cluster
from tests.support.postgres import run_as_postgres as run_pg


@contextmanager
def postgres_read_only(db_url: str) -> Iterator[None]:
    """New sessions of the policy's database are read-only; its open sessions are terminated."""
    name = sa.engine.make_url(db_url).database
    admin = sa.create_engine(
        sa.engine.make_url(db_url).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )

    def apply(setting: str) -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" {setting}'))
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )

    apply("SET default_transaction_read_only = on")
    try:
        yield
    finally:
        apply("RESET default_transaction_read_only")
        admin.dispose()


@contextmanager
def sqlite_immutable(db_path: Path) -> Iterator[None]:
    """The database and its WAL file immutable: even root's writes to them fail (EPERM).

    The -shm file stays writable: SQLite maps it into memory, and a write to a mapped immutable
    file is a SIGBUS that would end the test process instead of failing one transaction.
    """
    files = [p for p in (db_path, Path(f"{db_path}-wal")) if p.exists()]
    subprocess.run(["chattr", "+i", *map(str, files)], check=True, timeout=10)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=True, timeout=10)


@contextmanager
def postgres_stopped(cluster: PostgresCluster) -> Iterator[None]:
    """The cluster shut down, then started again on its port.

    Fast mode, not immediate: the test cluster runs with synchronous_commit=off, so a crash
    stop would lose recent commits (the previews) and the check after the restart would be void.
    """
    pg_ctl = str(cluster.bindir / "pg_ctl")
    run_pg([pg_ctl, "-D", str(cluster.datadir), "-m", "fast", "-w", "stop"])
    try:
        yield
    finally:
        options = f"-p {cluster.port} -k {cluster.socket_dir} -c listen_addresses=127.0.0.1"
        log = cluster.datadir.parent / "restarted.log"
        run_pg([pg_ctl, "-D", str(cluster.datadir), "-o", options, "-l", str(log), "-w", "start"])


FAULTS = ("postgres-read-only", "postgres-stopped", "sqlite-immutable")


def database_fault(
    fault: str, request: pytest.FixtureRequest, cleanup: ExitStack, workdir: Path
) -> tuple[str, AbstractContextManager[None]]:
    """A database for the stack, and the fault to apply to it: one of FAULTS."""
    if fault == "postgres-read-only":
        db_url = request.getfixturevalue("pg_url")
        return db_url, postgres_read_only(db_url)
    if fault == "postgres-stopped":  # its own cluster: the shared one stays up
        cluster = cleanup.enter_context(postgres_cluster())
        return cluster.create_database(), postgres_stopped(cluster)
    db_path = workdir / "policy.db"
    return f"sqlite:///{db_path}", sqlite_immutable(db_path)
