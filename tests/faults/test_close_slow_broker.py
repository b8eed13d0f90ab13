"""Issue 15, item 2: a close under a slow broker and a full gate answers at once, writer closed."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import new_key, reason_of
from tests.support.net import wait_until
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault

ROUNDS = 3
SUBMITTERS = 48
# Every answer of the simulator (acks included) arrives this late: each write holds a worker
# of both services for the whole of it, so the pools are full when the operator closes.
BROKER_DELAY_S = 5.0
# Writes the simulator must hold (sent, unacknowledged) before the close is sent.
SENT_BEFORE_CLOSE = 8
PLACE_ORDER = 3
CANCEL_ORDER = 4


@dataclass
class Round:
    close_s: float = 0.0
    reply: policy_pb2.SetKillSwitchResponse | None = None
    returned_ns: int = 0
    ended_ns: int = 0
    writer_closed: bool = False
    outcomes: list[str] = field(default_factory=list)


@pytest.fixture
def stack(dev_pki: Path, tmp_path: Path, faults_vault: DevVault) -> Iterator[Stack]:
    with live_stack(dev_pki, tmp_path, faults_vault) as running:
        yield running


def _submitters(
    stack: Stack, pool: deque[tuple[str, str]], stop: threading.Event, seen: Round
) -> list[threading.Thread]:
    def work() -> None:
        while not stop.is_set():
            try:
                pair = pool.popleft()
            except IndexError:
                return
            try:
                stack.submit(*pair, key=new_key())
                seen.outcomes.append("placed")
            except grpc.RpcError as err:
                seen.outcomes.append(reason_of(err) or err.code().name)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(SUBMITTERS)]
    for thread in threads:
        thread.start()
    return threads


def _event_detail(stack: Stack, event_id: int) -> dict[str, str]:
    engine = sa.create_engine(stack.db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            detail = conn.execute(
                sa.text("SELECT detail FROM audit_events WHERE event_id = :e"), {"e": event_id}
            ).scalar_one()
    finally:
        engine.dispose()
    return dict(json.loads(detail))


def _sent_ids(stack: Stack, after_ns: int = 0, until_ns: int | None = None) -> list[int]:
    """Order ids of the places and cancels the simulator received in (AFTER_NS, UNTIL_NS]."""
    return [
        int(w.fields[1] if w.msg_id == PLACE_ORDER else w.fields[2])
        for w in stack.sim.received_writes()
        if w.msg_id in (PLACE_ORDER, CANCEL_ORDER)
        and after_ns < w.monotonic_ns <= (until_ns or w.monotonic_ns)
    ]


def _round(stack: Stack, number: int, previews: list[str]) -> Round:
    seen = Round()
    if number:
        stack.open_switch()
    # Approvals die with a close: each round approves its previews after its reopen. The
    # previews were made before any delay: a quote asked now would queue behind the frames
    # the slow broker still holds from the round before.
    with ThreadPoolExecutor(max_workers=8) as prepare:
        pool = deque(zip(previews, prepare.map(stack.approve, previews), strict=True))
    stack.sim.set_delay(BROKER_DELAY_S)
    before = len(_sent_ids(stack))
    stop = threading.Event()
    threads = _submitters(stack, pool, stop, seen)
    assert wait_until(
        lambda: len(_sent_ids(stack)) - before >= SENT_BEFORE_CLOSE, timeout_s=30, interval_s=0.01
    ), (number, seen.outcomes[:20])
    started = time.perf_counter()
    seen.reply = stack.policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason=f"incident {number}"
        ),
        timeout=60,
    )
    seen.returned_ns = time.monotonic_ns()
    seen.close_s = time.perf_counter() - started
    seen.writer_closed = stack.writer.kill_switch.snapshot().state.name == "CLOSED"
    time.sleep(0.5)  # the submitters keep pushing against the closed switch
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    seen.ended_ns = time.monotonic_ns()
    # Let the writer finish this round's writes (acks, read-backs) before the next one.
    stack.sim.set_delay(0)
    assert wait_until(lambda: stack.writer.writer.in_flight.count() == 0, timeout_s=120)
    return seen


def test_close_when_broker_slow_and_48_submitters_then_writer_closed_and_nothing_new_sent(
    stack: Stack,
) -> None:
    per_round = SUBMITTERS * 2
    with ThreadPoolExecutor(max_workers=8) as prepare:
        previews = list(prepare.map(lambda _: stack.preview(), range(ROUNDS * per_round)))
    rounds = [
        _round(stack, number, previews[number * per_round : (number + 1) * per_round])
        for number in range(ROUNDS)
    ]
    for number, seen in enumerate(rounds):
        reply = seen.reply
        assert reply is not None
        late = _sent_ids(stack, seen.returned_ns, seen.ended_ns)
        print(
            f"round {number}: close {seen.close_s * 1000:.0f} ms, "
            f"writer_state={policy_pb2.WriterSwitchState.Name(reply.writer_state)}, "
            f"in_flight={len(reply.writer_in_flight)}, late={len(late)}, "
            f"writer closed at return={seen.writer_closed}"
        )
    for number, seen in enumerate(rounds):
        reply = seen.reply
        assert reply is not None
        assert reply.writer_state == policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_CLOSED, number
        assert reply.writer_synced and seen.writer_closed
        listed = {w.broker_order_id for w in reply.writer_in_flight}
        assert listed, f"round {number}: the slow broker left nothing in flight?"
        # The close's own audit event records what the writer answered, in-flight list included.
        detail = _event_detail(stack, reply.audit_event_id)
        assert (detail["writer_state"], detail["writer_in_flight"]) == (
            "CONFIRMED_CLOSED",
            str(len(reply.writer_in_flight)),
        )
        audited = {w["broker_order_id"] for w in json.loads(detail["writer_in_flight_writes"])}
        assert audited == listed
        # Invariant 2: nothing reached the simulator after the close returned, not even a write
        # admitted before it (the writer put those on the socket before it answered).
        assert _sent_ids(stack, seen.returned_ns, seen.ended_ns) == [], number
