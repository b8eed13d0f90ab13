"""A throwaway PostgreSQL 15 cluster with durability on (fsync, synchronous_commit)."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port
from tests.support.postgres import UNPRIVILEGED_USER, PostgresCluster, _run, pg_bindir

# The test fixture turns fsync and synchronous_commit off for speed; the benchmark measures the
# gate as deployed, so both stay at PostgreSQL's durable defaults here.
DURABLE_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=300 "
    "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
)


@contextmanager
def durable_cluster() -> Iterator[PostgresCluster]:
    bindir = pg_bindir()
    base = Path(tempfile.mkdtemp(prefix="livegate-bench-pg-"))
    datadir, socket_dir = base / "data", base / "sock"
    socket_dir.mkdir()
    if os.geteuid() == 0:  # initdb refuses root; the cluster runs as an unprivileged user
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (base, socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    _run(
        [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust",
         "--encoding=UTF8", "--no-sync"],
        env=env,
    )  # fmt: skip
    options = f"-p {port} -k {socket_dir} {DURABLE_OPTIONS}"
    _run(
        [str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l",
         str(base / "postgres.log"), "-w", "-t", "60", "start"],
        env=env,
    )  # fmt: skip
    try:
        yield PostgresCluster(bindir, datadir, socket_dir, port)
    finally:
        try:
            _run([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop"], env=env)
        finally:
            shutil.rmtree(base, ignore_errors=True)
