"""The writer alone: its CPU ms per SubmitOrder, called as the policy service calls it.

Starts OpenBao, the gateway simulator and a real W writer (as bench/run.py does), opens the
writer's kill switch with the policy's certificate, then drives SubmitOrder from client threads
and reads the writer process's CPU (utime + stime from /proc) before and after. CPU time, not
wall time, is the figure: other processes share the cores.

    .venv/bin/python bench/writer_micro.py [--n 2000] [--threads 16] [--rounds 3]
    .venv/bin/python bench/writer_micro.py --baseline /tmp/old   # old/writer_service/ = a copy

--baseline DIR also starts a second simulator and writer whose writer_service package comes from
DIR (first on PYTHONPATH) and alternates rounds between the two, so that the load other
processes put on the shared cores falls on both alike; compare the medians.
With BENCH_PROFILE_DIR set, py-spy records the writer (GIL-holding samples) during each round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

# `python bench/writer_micro.py` puts bench/ on the path, not the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gate import WriterDirect
from bench.measure import run_concurrently
from bench.procs import Proc, bench_home, start_sim
from bench.profile import cpu_seconds, profiled
from bench.run import ACCOUNT, start_writer
from livegate_api.v1 import common_pb2, writer_pb2
from tests.support.vault import DevVault


@dataclass
class Target:
    label: str
    writer: Proc
    direct: WriterDirect
    per_submit_ms: list[float] = field(default_factory=list)


def open_switch(direct: WriterDirect) -> None:
    # The writer starts closed until the policy syncs it open; this is that sync (it also keeps
    # the writer's policy-peer timeout from closing it again).
    direct._stub.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_OPEN, reason="micro", version=1
        ),
        timeout=10,
    )


def start_target(
    label: str, pki: Path, vault: DevVault, workdir: Path, cleanup: ExitStack, path: str | None
) -> Target:
    sim = start_sim(workdir, ACCOUNT, f"gateway-sim-{label}")
    cleanup.callback(sim.stop)
    saved = os.environ.get("PYTHONPATH")
    if path is not None:  # the child writer imports writer_service from PATH first
        os.environ["PYTHONPATH"] = path
    try:
        writer, _ = start_writer(pki, vault, workdir, sim.port, frozenset(), f"writer-{label}")
    finally:
        if path is not None:
            if saved is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = saved
    cleanup.callback(writer.stop)
    direct = WriterDirect(pki, writer.port, ACCOUNT)
    cleanup.callback(direct.close)
    open_switch(direct)
    return Target(label, writer, direct)


def measure(target: Target, n: int, threads: int, round_: int) -> None:
    open_switch(target.direct)
    user0, sys0 = cpu_seconds(target.writer.process.pid)
    with profiled([target.writer], f"micro-{target.label}-{round_}"):
        result = run_concurrently(range(n), target.direct.submit, threads)
    user1, sys1 = cpu_seconds(target.writer.process.pid)
    per = (user1 - user0 + sys1 - sys0) * 1000 / max(result.done, 1)
    per_sys = (sys1 - sys0) * 1000 / max(result.done, 1)
    target.per_submit_ms.append(round(per, 3))
    print(
        f"{target.label} round {round_}: {result.done} submits ({result.failed} failed) in "
        f"{result.seconds:.2f}s from {threads} threads: writer CPU {per:.3f} ms per submit "
        f"({per_sys:.3f} sys)",
        flush=True,
    )
    if result.errors:
        print(f"  first errors: {list(result.errors)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="SubmitOrder calls per round")
    parser.add_argument("--threads", type=int, default=16, help="client threads")
    parser.add_argument("--warm", type=int, default=200, help="untimed calls first")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per writer")
    parser.add_argument("--baseline", help="directory holding another writer_service package")
    args = parser.parse_args(argv)
    with ExitStack() as cleanup:
        workdir, pki, vault = bench_home(cleanup, "lg-wmicro-")
        targets = [start_target("current", pki, vault, workdir, cleanup, None)]
        if args.baseline:
            targets.append(start_target("baseline", pki, vault, workdir, cleanup, args.baseline))
        for target in targets:
            run_concurrently(range(args.warm), target.direct.submit, args.threads)
        for round_ in range(args.rounds):
            for target in targets if round_ % 2 == 0 else targets[::-1]:
                measure(target, args.n, args.threads, round_)
        summary = {
            t.label: {"median": statistics.median(t.per_submit_ms), "rounds": t.per_submit_ms}
            for t in targets
        }
        print(json.dumps({"writer_cpu_ms_per_submit": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
