"""CloseFirst: writes wait at their checkpoints while a close runs; a close never waits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from livegate_common.close_first import CloseFirst


def test_checkpoint_when_no_close_runs_then_the_write_goes_on_at_once() -> None:
    assert CloseFirst().checkpoint() == 0.0


def test_checkpoint_when_a_close_runs_then_the_write_waits_until_it_ends() -> None:
    gate = CloseFirst(max_wait_s=10.0)
    passed = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        with gate.closing():
            waiting = pool.submit(lambda: (gate.checkpoint(), passed.set()))
            assert not passed.wait(0.3)
        waiting.result(timeout=10)
    assert passed.is_set()


def test_checkpoint_when_two_closes_overlap_then_the_write_waits_for_both() -> None:
    gate = CloseFirst(max_wait_s=10.0)
    passed = threading.Event()
    first, second = gate.closing(), gate.closing()
    first.__enter__()
    second.__enter__()
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(lambda: (gate.checkpoint(), passed.set()))
        first.__exit__(None, None, None)
        assert not passed.wait(0.3)
        second.__exit__(None, None, None)
        waiting.result(timeout=10)
    assert passed.is_set()


def test_closing_when_writes_wait_at_checkpoints_then_the_close_enters_at_once() -> None:
    gate = CloseFirst(max_wait_s=10.0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        with gate.closing():
            waiting = [pool.submit(gate.checkpoint) for _ in range(8)]
            entered = threading.Event()

            def close() -> None:
                with gate.closing():
                    entered.set()

            threading.Thread(target=close).start()
            assert entered.wait(1.0)  # not held by the eight writes waiting
            assert not any(w.done() for w in waiting)
        assert all(w.result(timeout=10) >= 0 for w in waiting)


def test_checkpoint_when_the_close_outlasts_max_wait_then_the_write_goes_on() -> None:
    gate = CloseFirst(max_wait_s=0.2)
    with gate.closing():
        waited = gate.checkpoint()
        assert gate.closing_now()
    assert waited >= 0.2


@pytest.mark.parametrize("max_wait_s", [0.0, -1.0])
def test_construct_when_max_wait_not_positive_then_refused(max_wait_s: float) -> None:
    with pytest.raises(ValueError, match="max_wait_s"):
        CloseFirst(max_wait_s=max_wait_s)
