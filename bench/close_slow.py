"""The kill-switch close under a slow broker: many client threads submitting, every answer late.

    .venv/bin/python -m bench.close_slow [--rounds 4] [--threads 48] [--delay 5]

The writer and the policy service run as their own processes; the simulator runs in this one
(its answers are delayed through its fault API). Each round opens the switch, starts a burst
of submits, waits until the simulator holds writes it has not answered, and times the close:
what the operator waits for, and what the writer answered.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gate import GateClient
from bench.measure import latency, run_concurrently
from bench.procs import bench_home
from bench.run import ACCOUNT, say, start_policy, start_writer
from livegate_api.v1 import policy_pb2
from tests.support.sim import start_sim

PLACE_ORDER = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=48)
    parser.add_argument("--delay", type=float, default=5.0, help="seconds every answer is late")
    args = parser.parse_args(argv)
    with ExitStack() as cleanup:
        workdir, pki, vault = bench_home(cleanup, "lg-close-")
        sim = start_sim()
        cleanup.callback(sim.stop)
        writer, _ = start_writer(pki, vault, workdir, sim.port, frozenset())
        cleanup.callback(writer.stop)
        db_url = f"sqlite:///{workdir / 'policy' / 'policy.db'}"
        policy, _ = start_policy("policy", pki, workdir, writer.port, db_url, None, frozenset())
        cleanup.callback(policy.stop)
        client = GateClient(pki, policy.port, ACCOUNT)
        cleanup.callback(client.close)
        client.set_switch(True)
        per_round = 2 * args.threads
        tickets = client.tickets(args.rounds * per_round)
        closes, confirmed = [], 0
        for number in range(args.rounds):
            if number:
                client.set_switch(True)
            sim.set_delay(args.delay)
            sent_before = _places(sim)
            burst = tickets[number * per_round : (number + 1) * per_round]
            load = threading.Thread(
                target=run_concurrently, args=(burst, client.submit, args.threads)
            )
            load.start()
            waited = time.monotonic() + 30
            while _places(sim) - sent_before < args.threads // 4 and time.monotonic() < waited:
                time.sleep(0.01)
            started = time.perf_counter()
            reply = client.set_switch(False, reason=f"round {number}")
            closes.append(time.perf_counter() - started)
            state = policy_pb2.WriterSwitchState.Name(reply.writer_state)
            confirmed += state == "WRITER_SWITCH_STATE_CONFIRMED_CLOSED"
            say(
                f"round {number}: close {closes[-1] * 1000:.0f} ms, writer_state {state}, "
                f"writer_synced {reply.writer_synced}, in flight {len(reply.writer_in_flight)}, "
                f"{_places(sim) - sent_before} places at the simulator"
            )
            load.join(timeout=120)
            sim.set_delay(0)
            time.sleep(args.delay + 2)  # the writer finishes this round's writes
        say(
            f"close with {args.threads} submitting threads, answers {args.delay:g} s late: "
            f"{latency(closes).line()}; writer confirmed closed in {confirmed} of {args.rounds}"
        )
    return 0


def _places(sim: object) -> int:
    return sum(1 for m in sim.received_writes() if m.msg_id == PLACE_ORDER)  # type: ignore[attr-defined]


if __name__ == "__main__":
    raise SystemExit(main())
