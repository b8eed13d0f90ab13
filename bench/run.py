"""The gate's benchmark: latency vs direct ib_async, throughput, kill-switch close, cold start."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

# `python bench/run.py` puts bench/ on the path, not the repository root the imports below need.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import floors, invariants
from bench.closer import Closer
from bench.direct import DirectClient
from bench.gate import GateClient, Ticket, WriterDirect, split
from bench.layout import Layout, client_on, floating
from bench.measure import Latency, Throughput, latency, run_concurrently, timed_sequence
from bench.procs import Proc, bench_home, start_service, start_sim
from bench.profile import cpu_snapshot, cpu_split, postgres_cpu, profiled
from bench.scrape import histogram_totals
from policy_service.audit_keysource import ensure_dev_keyring
from tests.policy.harness import policy_doc
from tests.support.net import free_port
from tests.support.postgres import postgres_cluster
from tests.support.vault import DevVault
from tests.support.writers import writer_document
from writer_service.config import Role

ACCOUNT = "U1234567"
COMMIT_BATCH = "livegate_policy_commit_batch_writers"
# Wide enough that thousands of one-share orders a minute pass; every check still runs.
# The broker timeout of the bench's stack: the tests' 1 s leaves the contract-details fetches of
# a 16-thread ticket burst timing out on a loaded 2-core machine (REFERENCE_DATA_UNAVAILABLE);
# latency figures are of answered calls and do not depend on it.
BROKER_TIMEOUT_S = 5.0

BENCH_LIMITS: dict[str, Any] = {
    "max_orders_per_minute": 1_000_000,
    "max_open_orders": 1_000_000,
    "max_daily_notional": "1000000000",
    "max_reference_age_s": "600",
}


def say(text: str = "") -> None:
    print(text, flush=True)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


# Each policy replica's /metrics port, by process name.
METRICS_PORTS: dict[str, int] = {}


def start_policy(
    name: str,
    pki: Path,
    workdir: Path,
    writer_port: int,
    db_url: str,
    hash_key: str | None,
    cpus: frozenset[int],
) -> tuple[Proc, str]:
    data = workdir / name
    doc = policy_doc(pki, data, writer_port, db_url, BENCH_LIMITS, BROKER_TIMEOUT_S)
    doc["server"]["cpus"] = sorted(cpus)
    METRICS_PORTS[name] = free_port()
    doc["metrics"] = {"listen": f"127.0.0.1:{METRICS_PORTS[name]}"}
    if hash_key is not None:  # replicas share the account-hash key, as deployed replicas do
        doc["audit"]["account_hash_key"] = hash_key
    # ... and the audit keyring: one file per benchmark run, as one Vault path per role.
    doc["audit"]["keyring_file"] = str(ensure_dev_keyring(workdir / "audit-keyring.json"))
    # The invariant phases are refused by design, hundreds a minute: the throttle would answer
    # them instead of the gate the bench measures.
    doc["audit"]["refusal_limit_per_min"] = 0
    proc, _ = start_service(name, "policy_service", doc, workdir)
    return proc, doc["audit"]["account_hash_key"]


def start_writer(
    pki: Path,
    vault: DevVault,
    workdir: Path,
    sim_port: int,
    cpus: frozenset[int],
    name: str = "writer",
) -> tuple[Proc, float]:
    doc = writer_document(
        pki, vault, Role.W, workdir, gateway_port=sim_port, request_timeout_s=BROKER_TIMEOUT_S
    )
    doc["server"]["cpus"] = sorted(cpus)
    # IB paces a connection at 50 messages/s; the simulator does not, and the throughput runs
    # would otherwise measure ib_async's pacing (45/s), not the gate. Real IB: leave it at 45.
    doc["broker"]["max_messages_per_s"] = 0
    return start_service(name, "writer_service", doc, workdir)


def throughput(
    clients: list[GateClient],
    count: int,
    threads: int,
    db_url: str,
    broker: DirectClient,
    procs: list[Proc],
    label: str,
    client_cpus: frozenset[int],
    extra: dict[str, Callable[[], tuple[float, float]]] | None = None,
    commits_port: int | None = None,
) -> tuple[float, invariants.Verdict, str]:
    per = count // len(clients)
    tickets: list[Ticket] = []
    for client in clients:  # untimed: approved previews made beforehand
        tickets += [t for t in client.tickets(per)]
    shares = split(tickets, len(clients))
    # Each replica gets its own share, interleaved so the threads load both evenly.
    work = [(clients[i], t) for batch in zip(*shares, strict=False) for i, t in enumerate(batch)]
    batches = histogram_totals(commits_port, COMMIT_BATCH) if commits_port else (0.0, 0.0)
    with client_on(client_cpus):
        before = cpu_snapshot(procs, extra)
        with profiled(procs, label):
            result = run_concurrently(work, lambda pair: pair[0].submit(pair[1]), threads)
        cpu = cpu_split(procs, before, result.seconds, result.done, extra)
    if commits_port:
        after = histogram_totals(commits_port, COMMIT_BATCH)
        writers, commits = after[0] - batches[0], after[1] - batches[1]
        cpu += f"\n  group commit: {writers:.0f} write transactions in {commits:.0f} commits"
    reuse = clients[0].reuse_refused(tickets[0])
    verdict = invariants.check(db_url, tickets, broker, reuse)
    detail = (
        f"{result.done} submits in {result.seconds:.2f}s with {threads} client threads "
        f"over {len(clients)} replica(s): {result.per_s:.0f}/s, {result.failed} failed"
    )
    detail += f"\n  {cpu}"
    if result.errors:
        detail += f"\n    first errors: {list(result.errors)}"
    return result.per_s, verdict, detail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-n", type=int, default=300, help="sequential submits timed")
    parser.add_argument("--throughput-n", type=int, default=2000, help="submits per storage")
    parser.add_argument("--threads", type=int, default=24, help="concurrent client threads")
    parser.add_argument("--switch-n", type=int, default=20, help="kill-switch closes timed")
    parser.add_argument(
        "--no-pin", action="store_true", help="let every process float over every CPU"
    )
    parser.add_argument(
        "--only",
        choices=["sqlite", "postgres", "close"],
        help="run one throughput phase, or the kill-switch close, alone; no JSON line",
    )
    args = parser.parse_args(argv)
    args.layout = Layout.for_machine(pin=not args.no_pin)
    results: dict[str, float] = {}
    say(f"machine: {machine()}")
    say(
        "layout: simulator, writer and each policy replica run as their own processes; this "
        "process is the client. All of them share the machine's CPUs, so every figure below "
        "includes the other components' CPU use.\n"
        "pacing: IB's 50 messages/s per connection is turned off in the writer and the direct "
        "client (the simulator does not pace); against a real gateway each is capped at 45/s."
    )
    with ExitStack() as cleanup:
        workdir, pki, vault = bench_home(cleanup, "lg-bench-")
        broker_side = args.layout.broker_side()
        sim = start_sim(workdir, ACCOUNT, cpus=broker_side)
        cleanup.callback(sim.stop)

        # (d) writer cold start: spawn -> Vault unwrap + login -> broker -> probe -> serving.
        writer, cold_s = start_writer(pki, vault, workdir, sim.port, broker_side)
        cleanup.callback(writer.stop)
        results["writer_cold_start_s"] = round(cold_s, 3)

        sqlite_url = f"sqlite:///{workdir / 'policy-sqlite' / 'policy.db'}"
        policy, _ = start_policy(
            "policy-sqlite", pki, workdir, writer.port, sqlite_url, None, args.layout.policy(0)
        )
        cleanup.callback(policy.stop)
        client = GateClient(pki, policy.port, ACCOUNT)
        cleanup.callback(client.close)
        client.set_switch(True)
        broker = DirectClient(sim.port, ACCOUNT)
        cleanup.callback(broker.close)

        if args.only is None:
            latency_phases(args, client, writer, broker, pki, cleanup, results, sqlite_url)
        if args.only in (None, "close"):
            close_phase(args, client, pki, results)
        ok = True
        if args.only in (None, "sqlite"):
            ok = sqlite_phase(args, client, [policy, writer, sim], broker, sqlite_url, results)
        client.close()
        policy.stop()
        if args.only in (None, "postgres"):
            ok = postgres_phase(args, pki, vault, workdir, cleanup, results) and ok
        if args.only is None:
            say("\n(d) writer cold start (spawn -> Vault login -> broker -> probe -> serving)")
            say(f"  {cold_s:.2f} s")
    if args.only is not None:
        return 0 if ok else 1
    ordered = [
        "gate_p50_ms", "gate_p99_ms", "direct_p50_ms", "direct_p99_ms", "submits_per_s_sqlite",
        "submits_per_s_postgres_2_replicas", "killswitch_close_ms", "writer_cold_start_s",
    ]  # fmt: skip
    say(json.dumps({k: results[k] for k in ordered}))
    return 0 if ok else 1


def latency_phases(
    args: argparse.Namespace,
    client: GateClient,
    writer: Proc,
    broker: DirectClient,
    pki: Path,
    cleanup: ExitStack,
    results: dict[str, float],
    sqlite_url: str,
) -> None:
    """(a) submit latency through the gate vs the same order straight at the simulator; (c)."""
    warm = 30
    tickets = client.tickets(args.latency_n + warm)
    timed_sequence(tickets[:warm], client.submit)
    gate = latency(timed_sequence(tickets[warm:], client.submit))
    writer_only = WriterDirect(pki, writer.port, ACCOUNT)
    cleanup.callback(writer_only.close)
    timed_sequence(range(warm), writer_only.submit)
    alone = latency(timed_sequence(range(args.latency_n), writer_only.submit))
    for _ in range(warm):
        broker.place_one()
    direct = latency([broker.place_one() for _ in range(args.latency_n)])
    results.update(
        gate_p50_ms=round(gate.p50_ms, 2), gate_p99_ms=round(gate.p99_ms, 2),
        direct_p50_ms=round(direct.p50_ms, 2), direct_p99_ms=round(direct.p99_ms, 2),
    )  # fmt: skip
    say("\n(a) submit latency, one at a time (SQLite, synchronous=FULL)")
    say(f"  gate   (SubmitOrder -> response after broker ack): {gate.line()}")
    say(f"  writer alone (its SubmitOrder, mTLS, broker ack):   {alone.line()}")
    say(f"  direct (ib_async placeOrder -> Submitted):          {direct.line()}")
    say(
        f"  cost of the gate: +{gate.p50_ms - direct.p50_ms:.2f} ms p50, "
        f"+{gate.p99_ms - direct.p99_ms:.2f} ms p99, ratio {gate.p50_ms / direct.p50_ms:.1f}x"
    )
    db_dir = Path(sqlite_url.removeprefix("sqlite:///")).parent
    path_floor(args.latency_n, client, writer_only, db_dir, gate, alone, direct)


def close_phase(
    args: argparse.Namespace, client: GateClient, pki: Path, results: dict[str, float]
) -> None:
    """(c) SetKillSwitch(CLOSED), idle and under a burst, timed by a process of its own."""
    closer = Closer(pki, client.port, ACCOUNT)
    try:
        close = latency([timed_close(client, closer) for _ in range(args.switch_n)])
        say("\n(c) kill-switch close (policy durable + writer closed), idle")
        say(f"  {close.line()}")
        loaded = close_under_load(client, closer, args)
    finally:
        closer.stop()
    results["killswitch_close_ms"] = round(close.p50_ms, 2)
    say(f"  under load ({args.threads} client threads submitting when it is sent): {loaded.line()}")
    say(f"  {close_ratio(close, loaded)}")


def path_floor(
    count: int,
    client: GateClient,
    writer_only: WriterDirect,
    db_dir: Path,
    gate: Latency,
    alone: Latency,
    direct: Latency,
) -> None:
    """Split the gate's p50 into the path it cannot avoid and the services' own work."""
    to_policy = floors.hop(client.channel, count).p50_ms
    to_writer = floors.hop(writer_only.channel, count).p50_ms
    commit = floors.durable_append(db_dir, count).p50_ms
    floor = direct.p50_ms + to_policy + to_writer + 2 * commit
    writer_own = alone.p50_ms - to_writer - direct.p50_ms
    policy_own = gate.p50_ms - alone.p50_ms - to_policy - 2 * commit
    say("  where the gate's p50 goes (each floor timed alone here, p50):")
    say(f"    the order at the broker (direct):                    {direct.p50_ms:5.2f} ms")
    say(f"    mTLS hop client -> policy (a health check):          {to_policy:5.2f} ms")
    say(f"    mTLS hop policy -> writer (a health check):          {to_writer:5.2f} ms")
    say(f"    two durable commits (4 KiB append + fsync, each):    {commit:5.2f} ms")
    say(
        f"    the path's floor: {floor:.2f} ms, +{floor - direct.p50_ms:.2f} ms over direct; "
        f"a +2 ms gate leaves {direct.p50_ms + 2 - floor:.2f} ms for both services' own work"
    )
    say(
        f"    their own work now: writer {writer_own:.2f} ms, policy {policy_own:.2f} ms "
        f"(reads, both transactions without their fsync, servicer)"
    )


def close_ratio(idle: Latency, loaded: Latency) -> str:
    """The close under a burst against the idle close of the same run (1.0x: no queueing)."""
    return (
        f"close p50 {idle.p50_ms:.2f} -> {loaded.p50_ms:.2f} ms "
        f"({loaded.p50_ms / idle.p50_ms:.1f}x), p95 {idle.p95_ms:.2f} -> {loaded.p95_ms:.2f} ms "
        f"({loaded.p95_ms / idle.p95_ms:.1f}x) under the burst vs idle"
    )


def timed_close(client: GateClient, closer: Closer) -> float:
    """Seconds SetKillSwitch(CLOSED) took, writer confirmed closed; open again afterwards."""
    seconds = closer.close_switch()
    client.set_switch(True)
    return seconds


def close_under_load(client: GateClient, closer: Closer, args: argparse.Namespace) -> Latency:
    """The operator's close in the middle of a burst of submits (those after it are refused).

    Each round's approvals are made after the reopen before it: a close revokes every
    approval outstanding, so approvals made for later rounds would be refused at step 8 and
    those rounds would time the close against a burst of cheap refusals, not of submits.
    Both services serve the close from a pool of its own, and the writer answers it without
    waiting for its writes in flight: what an operator waits for on a busy desk. Under a slow
    broker: bench/close_slow.py.
    """
    rounds, per_round = max(1, args.switch_n // 2), 5 * args.threads
    layout: Layout = args.layout
    closes, bursts = [], []
    with client_on(layout.client(1)):  # where the throughput run's client threads run
        for _ in range(rounds):
            outcome: list[Throughput] = []
            load = burst(client, client.tickets(per_round), args.threads, outcome)
            time.sleep(0.1)  # the burst is under way: every client thread has a submit in flight
            closes.append(timed_close(client, closer))
            load.join(timeout=60)
            bursts += outcome
    placed = sum(b.done for b in bursts)
    refused = sum(b.failed for b in bursts)
    say(
        f"  the bursts: {placed} submits placed, {refused} refused once the switch was closed, "
        f"of {rounds * per_round}"
    )
    return latency(closes)


def burst(
    client: GateClient, tickets: list[Ticket], threads: int, outcome: list[Throughput]
) -> threading.Thread:
    """Submit TICKETS from THREADS client threads in the background; OUTCOME gets the tally."""

    def run() -> None:
        outcome.append(run_concurrently(tickets, client.submit, threads))

    load = threading.Thread(target=run)
    load.start()
    return load


def report(
    results: dict[str, float],
    key: str,
    heading: str,
    rate: float,
    verdict: invariants.Verdict,
    detail: str,
) -> bool:
    """Print one throughput run and keep its rate under KEY; whether its invariants held."""
    results[key] = round(rate, 1)
    show(f"(b) approved submits per second, {heading}", detail, verdict)
    return verdict.ok


def show(title: str, detail: str, verdict: invariants.Verdict) -> None:
    """A throughput run's heading, figures and invariant check."""
    say(f"\n{title}")
    say(f"  {detail}")
    say(f"  invariants: {verdict.line()}")


def sqlite_phase(
    args: argparse.Namespace,
    client: GateClient,
    procs: list[Proc],
    broker: DirectClient,
    sqlite_url: str,
    results: dict[str, float],
) -> bool:
    """(b) throughput on SQLite, one replica."""
    rate, verdict, detail = throughput(
        [client], args.throughput_n, args.threads, sqlite_url, broker, procs, "sqlite",
        args.layout.client(1), commits_port=METRICS_PORTS[procs[0].name],
    )  # fmt: skip
    heading = f"SQLite (WAL, synchronous=FULL), one replica\n  {args.layout.describe(1)}"
    ok = report(results, "submits_per_s_sqlite", heading, rate, verdict, detail)
    layout: Layout = args.layout
    if not layout.cores:
        return ok
    # The baseline of the pinning: the same (warm) processes, every thread free to float.
    with floating([p.process.pid for p in procs], frozenset(layout.cores)):
        base, base_verdict, base_detail = throughput(
            [client], args.throughput_n, args.threads, sqlite_url, broker, procs,
            "sqlite-floating", frozenset(), commits_port=METRICS_PORTS[procs[0].name],
        )  # fmt: skip
    title = "(b) baseline: the same processes with nothing pinned (as --no-pin runs them)"
    show(title, base_detail, base_verdict)
    say(f"  pinned / floating: {rate / max(base, 1e-9):.2f}x the submits per second")
    return ok and base_verdict.ok


def postgres_phase(
    args: argparse.Namespace,
    pki: Path,
    vault: DevVault,
    workdir: Path,
    cleanup: ExitStack,
    results: dict[str, float],
) -> bool:
    """(b) throughput on PostgreSQL (fsync, synchronous_commit on), two replicas.

    A fresh simulator and writer, so the orders of the runs before do not tax this one.
    """
    layout: Layout = args.layout
    sim = start_sim(workdir, ACCOUNT, "gateway-sim-pg", layout.broker_side())
    cleanup.callback(sim.stop)
    writer, _ = start_writer(pki, vault, workdir, sim.port, layout.broker_side(), "writer-pg")
    cleanup.callback(writer.stop)
    broker = DirectClient(sim.port, ACCOUNT)
    cleanup.callback(broker.close)
    cluster = cleanup.enter_context(postgres_cluster(durable=True))
    pg_url = cluster.create_database("bench")
    first, key = start_policy(
        "policy-pg-0", pki, workdir, writer.port, pg_url, None, layout.policy(0)
    )
    cleanup.callback(first.stop)
    second, _ = start_policy(
        "policy-pg-1", pki, workdir, writer.port, pg_url, key, layout.policy(1)
    )
    cleanup.callback(second.stop)
    pg_clients = [GateClient(pki, p.port, ACCOUNT) for p in (first, second)]
    for c in pg_clients:
        cleanup.callback(c.close)
    pg_clients[0].set_switch(True)
    rate, verdict, detail = throughput(
        pg_clients, args.throughput_n, args.threads, pg_url, broker,
        [first, second, writer, sim], "postgres", layout.client(2),
        {"postgres": postgres_cpu(cluster.datadir)},  # the server's share of the two cores
    )  # fmt: skip
    heading = f"PostgreSQL 15 (fsync, synchronous_commit on)\n  {layout.describe(2)}"
    return report(results, "submits_per_s_postgres_2_replicas", heading, rate, verdict, detail)


if __name__ == "__main__":
    sys.exit(main())
