"""max_open_orders counts what still works at the broker, not every order ever placed."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from policy_service.domain.open_orders import OpenOrderSync
from policy_service.domain.ports import StoreUnavailable, WriterError
from tests.policy.conftest import MakePolicy
from tests.policy.harness import Harness, reason_of
from tests.support.net import wait_until


def end_at_broker(h: Harness, broker_order_id: int, status: str = "Filled") -> None:
    with h.writer.servicer.lock:
        h.writer.servicer.state.orders[broker_order_id].status = status


def refused_reason(h: Harness, approved: tuple[str, str]) -> str:
    with pytest.raises(grpc.RpcError) as err:
        h.submit(*approved)
    return reason_of(err.value)


def test_open_orders_when_an_order_fills_then_it_stops_counting(make_policy: MakePolicy) -> None:
    h = make_policy(limits={"max_open_orders": 1})
    first = h.submit(*h.approved()).order.broker_order_id
    assert refused_reason(h, h.approved()) == "OPEN_ORDERS_EXCEEDED"
    end_at_broker(h, first)
    assert h.service.open_orders.run() == 1
    assert h.count("open_orders") == 0
    h.submit(*h.approved())  # the limit has room again
    assert h.count("open_orders") == 1


def test_open_orders_when_still_working_then_still_counted(make_policy: MakePolicy) -> None:
    h = make_policy(limits={"max_open_orders": 1})
    h.submit(*h.approved())
    assert h.service.open_orders.run() == 0
    assert refused_reason(h, h.approved()) == "OPEN_ORDERS_EXCEEDED"


def test_open_orders_when_writer_cannot_list_then_nothing_stops_counting(
    make_policy: MakePolicy,
) -> None:
    """Fail closed: an unanswered check leaves the count as high as it was."""
    h = make_policy(limits={"max_open_orders": 1})
    first = h.submit(*h.approved()).order.broker_order_id
    end_at_broker(h, first)
    h.writer.servicer.state.open_orders_unavailable = True
    assert h.service.open_orders.run() == 0
    assert h.count("open_orders") == 1
    assert refused_reason(h, h.approved()) == "OPEN_ORDERS_EXCEEDED"


def test_open_orders_when_kill_switch_cancelled_all_then_none_counted(
    make_policy: MakePolicy,
) -> None:
    h = make_policy()
    for _ in range(3):
        h.submit(*h.approved())
    h.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_CLOSED,
            reason="incident",
            cancel_all_open_orders=True,
        ),
        timeout=10,
    )
    assert h.service.open_orders.run() == 3
    assert h.count("open_orders") == 0


def test_open_orders_when_service_runs_then_checked_periodically(make_policy: MakePolicy) -> None:
    h = make_policy(limits={"max_open_orders": 1}, overrides={"writer.open_orders_check_s": 0.2})
    first = h.submit(*h.approved()).order.broker_order_id
    end_at_broker(h, first, "Cancelled")
    assert wait_until(lambda: h.count("open_orders") == 0, timeout_s=10)
    assert h.writer.servicer.state.open_order_lists >= 1


class RacingStore:
    """Counted orders in memory; another order is recorded while the writer is asked."""

    def __init__(self, counted: set[int]):
        self.counted = set(counted)
        self.forgotten: list[set[int]] = []
        self.fail = False

    def open_order_ids(self, account_hash: str) -> set[int]:
        if self.fail:
            raise StoreUnavailable("down")
        return set(self.counted)

    def forget_open_orders(
        self, account_hash: str, broker_order_ids: Iterable[int], now_us: int = 0
    ) -> int:
        ids = set(broker_order_ids)
        self.forgotten.append(ids)
        self.counted -= ids
        return len(ids)


class ListingWriter:
    def __init__(self, store: RacingStore, working: set[int], placed_meanwhile: int):
        self.store = store
        self.working = working
        self.placed_meanwhile = placed_meanwhile
        self.error: WriterError | None = None

    def open_order_ids(self, account_id: str) -> list[int]:
        # An order placed after the store was read and before the writer answered: the
        # writer's list was taken before it, so the list does not have it.
        self.store.counted.add(self.placed_meanwhile)
        if self.error is not None:
            raise self.error
        return sorted(self.working)


def test_sync_when_an_order_is_placed_during_the_check_then_it_still_counts() -> None:
    store = RacingStore({1, 2})
    writer = ListingWriter(store, working={2}, placed_meanwhile=3)
    sync = OpenOrderSync(store, writer, ["U1"], lambda a: f"h-{a}")  # type: ignore[arg-type]
    assert sync.run() == 1
    assert store.forgotten == [{1}]
    assert store.counted == {2, 3}


def test_sync_when_store_or_writer_fails_then_nothing_forgotten() -> None:
    store = RacingStore({1})
    writer = ListingWriter(store, working=set(), placed_meanwhile=1)
    writer.error = WriterError("UNAVAILABLE", "UNAVAILABLE", "BROKER_UNAVAILABLE", "reconciling")
    sync = OpenOrderSync(store, writer, ["U1"], lambda a: f"h-{a}")  # type: ignore[arg-type]
    assert sync.run() == 0
    store.fail = True
    assert sync.run() == 0
    assert store.forgotten == []
