"""Times the verification of a keyed audit chain of N events (default 100,000), per backend.

The chain is written first, outside the timing, as the service links it (one key, the same
canonical JSON and HMAC), in large transactions; then the walk VerifyAudit and the scheduled
check run (every link recomputed under its key, ids gap-free, the head and purge pointer) is
timed on SQLite and on PostgreSQL 15. Prints events per second, and the ratio to a baseline
measured in the same process on the same rows: reading them alone, through the same query and
driver, with no link recomputed. Asserts nothing about speed.

    .venv/bin/python bench/audit_verify.py [--events 100000] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, text

# `python bench/audit_verify.py` puts bench/ on the path, not the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy_service.domain.audit import AuditDraft
from policy_service.domain.audit_keys import Keyring, new_keyring
from policy_service.storage import audit_store, raw
from policy_service.storage.engine import make_engines, migrate
from tests.support.postgres import postgres_cluster

BATCH = 5_000


def _draft(i: int) -> AuditDraft:
    """A submit's outcome event, about as large as the service writes."""
    return AuditDraft(
        method="SubmitOrder",
        request_id=f"req-{i:012d}",
        principal="upstream",
        outcome="EXECUTED",
        gate_step=12,
        account_id_hash="a" * 64,
        preview_id=f"pv_{i:032x}",
        approval_id=f"ap_{i:032x}",
        idempotency_key=f"k-{i:032x}",
        broker_order_id=i,
        kill_switch_state="OPEN",
        risk_policy_id="bench-risk-v1",
        detail={"notional": "100.00", "legs": "1"},
    )


def fill(engine: Engine, keyring: Keyring, events: int) -> None:
    """EVENTS linked events, BATCH per transaction (not timed)."""
    q = raw.Statements(engine.dialect.name)
    prev, now = "", time.time_ns() // 1000
    for start in range(1, events + 1, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, events + 1)):
            prepared = audit_store.prepare(_draft(i), now + i, keyring.current_id)
            row = audit_store.linked(keyring, prepared, i, prev)
            rows.append(row)
            prev = row["hash"]
        with engine.begin() as conn:
            conn.exec_driver_sql(q.insert_event.sql, rows)
            conn.execute(
                text("UPDATE audit_head SET last_event_id = :i, last_hash = :h, key_id = :k"),
                {"i": rows[-1]["event_id"], "h": prev, "k": keyring.current_id},
            )


def timed_verify(engine: Engine, keyring: Keyring) -> tuple[int, float, float]:
    """(events checked, wall seconds, this process's CPU seconds): on a shared machine the
    CPU figure is what the verification itself costs; the wall one includes the waiting."""
    started, cpu = time.perf_counter(), time.process_time()
    walk, head = audit_store.walk(engine, keyring)
    problem = walk.finish(
        head.last_event_id, head.last_hash, head.purged_through_event_id, head.purged_through_hash
    )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if problem is not None:
        raise RuntimeError(f"the chain does not verify: {problem}")
    return walk.checked, elapsed, cpu


def timed_read(engine: Engine) -> tuple[int, float]:
    """The baseline: (rows, wall seconds) to stream the same rows the walk reads, verifying
    nothing; what verification adds beyond it is the keyed check itself."""
    started = time.perf_counter()
    with engine.connect() as conn:
        head = audit_store.read_head(conn)
        rows = sum(1 for _ in audit_store.stream(conn, 0, head.last_event_id))
        conn.rollback()
    return rows, time.perf_counter() - started


def run(name: str, url: str, events: int) -> None:
    write, read = make_engines(url)
    try:
        migrate(write)
        keyring = new_keyring()
        started = time.perf_counter()
        fill(write, keyring, events)
        print(f"{name}: {events} events written in {time.perf_counter() - started:.1f} s (setup)")
        for attempt in (1, 2):  # the second with the pages cached, as a scheduled check runs
            checked, elapsed, cpu = timed_verify(read, keyring)
            rows, floor = timed_read(read)
            print(
                f"{name}: verified {checked} events in {elapsed:.2f} s: "
                f"{checked / elapsed:,.0f} events/s; {cpu:.2f} s of the verifier's CPU, "
                f"{checked / cpu:,.0f} events per CPU-second (run {attempt})"
            )
            print(
                f"{name}: baseline, the same {rows} rows read without verifying: {floor:.2f} s, "
                f"{rows / floor:,.0f} rows/s; verification is {elapsed / floor:.1f}x the read "
                f"(run {attempt})"
            )
    finally:
        write.dispose()
        if read is not write:
            read.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lg-audit-bench-") as tmp:
        if args.only in (None, "sqlite"):
            run("SQLite (WAL)", f"sqlite:///{Path(tmp) / 'audit.db'}", args.events)
        if args.only in (None, "postgres"):
            with postgres_cluster(durable=True) as cluster:
                run("PostgreSQL 15", cluster.create_database("audit"), args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
