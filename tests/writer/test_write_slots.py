"""WriteSlots: writes of different keys overlap, one key never does, and a wait is bounded."""

from __future__ import annotations

import threading

import pytest

from writer_service.errors import WriterError
from writer_service.write_slots import WriteSlots

WAIT_S = 5.0


def _hold(slots: WriteSlots, keys: tuple[str, ...], inside: threading.Event,
          release: threading.Event, log: list[str], name: str) -> threading.Thread:  # fmt: skip
    def run() -> None:
        with slots.shared(keys, WAIT_S):
            log.append(f"{name} in")
            inside.set()
            release.wait(WAIT_S)
            log.append(f"{name} out")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_shared_when_keys_differ_then_writes_overlap() -> None:
    slots, log = WriteSlots(), []
    a_in, b_in, release = threading.Event(), threading.Event(), threading.Event()
    a = _hold(slots, ("k1",), a_in, release, log, "a")
    b = _hold(slots, ("k2",), b_in, release, log, "b")
    assert a_in.wait(WAIT_S) and b_in.wait(WAIT_S)  # both inside at once
    release.set()
    a.join(WAIT_S)
    b.join(WAIT_S)
    assert sorted(log[:2]) == ["a in", "b in"]


def test_shared_when_keys_overlap_then_second_waits_for_first() -> None:
    slots, log = WriteSlots(), []
    a_in, b_in, release = threading.Event(), threading.Event(), threading.Event()
    a = _hold(slots, ("k1", "k1.tp"), a_in, release, log, "a")
    assert a_in.wait(WAIT_S)
    b = _hold(slots, ("k1.tp",), b_in, threading.Event(), log, "b")
    assert not b_in.wait(0.3)  # one key is never written twice at once
    release.set()
    assert b_in.wait(WAIT_S)
    a.join(WAIT_S)
    assert log.index("a out") < log.index("b in")
    b.join(0.1)


def test_shared_when_no_slot_frees_in_time_then_broker_timeout() -> None:
    slots = WriteSlots()
    held, release = threading.Event(), threading.Event()
    holder = _hold(slots, ("k1",), held, release, [], "a")
    assert held.wait(WAIT_S)
    with pytest.raises(WriterError) as err, slots.shared(("k1",), 0.2):
        pass
    release.set()
    holder.join(WAIT_S)
    assert err.value.reason == "BROKER_TIMEOUT"
