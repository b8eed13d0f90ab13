"""Dead-man lease rules with fakes that record calls: renewal and release decisions, and the
watch's order of work (claim, scope close, cancels of that principal only, stopped), its retry
and its claims."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from prometheus_client import REGISTRY

from policy_service.domain import model as m
from policy_service.domain.commands import CancelCmd
from policy_service.domain.dead_man import DeadManWatch
from policy_service.domain.leases import (
    Lease,
    LeaseSettings,
    LeaseState,
    new_lease,
    released,
    renewed,
    ttl_denial,
)
from policy_service.domain.scoped_stops import ScopeResult
from policy_service.domain.scopes import ScopedStop, ScopeKind

S = 1_000_000
T0 = 1_000 * S
SETTINGS = LeaseSettings(min_ttl_s=2, max_ttl_s=60, check_interval_s=1, claim_stale_s=10)

# ---- renewal and release -------------------------------------------------------------------


def test_renew_when_no_lease_then_a_new_one_starts() -> None:
    lease, started = renewed(None, "alice", 5, T0, scope_closed=False)  # type: ignore[misc]
    assert started and lease.expires_at_us == T0 + 5 * S and lease.state(T0) is LeaseState.ACTIVE


def test_renew_when_active_then_extended_from_now_and_not_a_start() -> None:
    lease = new_lease("alice", 5, T0)
    extended, started = renewed(lease, "alice", 10, T0 + 3 * S, False)  # type: ignore[misc]
    assert not started and extended.expires_at_us == T0 + 13 * S
    assert extended.started_at_us == T0


@pytest.mark.parametrize(
    "lease",
    [
        new_lease("alice", 5, T0),  # expired at T0 + 5 s
        dataclasses.replace(new_lease("alice", 50, T0), claimed_by="r1"),  # claimed
    ],
)
def test_renew_when_lapsed_then_lease_lapsed(lease: Lease) -> None:
    denial = renewed(lease, "alice", 5, T0 + 6 * S, False)
    assert isinstance(denial, m.Denial) and denial.reason == "LEASE_LAPSED" and denial.step == 6


def test_renew_when_stopped_and_scope_still_closed_then_lease_lapsed() -> None:
    stopped = dataclasses.replace(new_lease("alice", 5, T0), stopped_at_us=T0 + 6 * S)
    denial = renewed(stopped, "alice", 5, T0 + 9 * S, scope_closed=True)
    assert isinstance(denial, m.Denial) and denial.metadata["scope_state"] == "CLOSED"


@pytest.mark.parametrize("field", ["stopped_at_us", "released_at_us"])
def test_renew_when_stopped_and_reopened_or_released_then_a_new_lease_starts(field: str) -> None:
    old = dataclasses.replace(new_lease("alice", 5, T0), **{field: T0 + 6 * S})
    lease, started = renewed(old, "alice", 5, T0 + 9 * S, False)  # type: ignore[misc]
    assert started and lease.state(T0 + 9 * S) is LeaseState.ACTIVE and not lease.stopped_at_us


def test_release_when_active_then_released_and_when_lapsed_then_refused() -> None:
    lease = new_lease("alice", 5, T0)
    done = released(lease, "alice", T0 + S)
    assert isinstance(done, Lease) and done.state(T0 + S) is LeaseState.RELEASED
    late = released(lease, "alice", T0 + 6 * S)
    assert isinstance(late, m.Denial) and late.reason == "LEASE_LAPSED"
    none = released(None, "alice", T0)
    assert isinstance(none, m.Denial) and none.reason == "LEASE_NOT_FOUND"


RANGE = [(2, True), (60, True), (1.9, False), (61, False), (float("nan"), False),
         (float("-inf"), False)]  # fmt: skip


@pytest.mark.parametrize(("ttl", "ok"), RANGE)
def test_ttl_when_checked_then_only_the_configured_range_passes(ttl: float, ok: bool) -> None:
    denial = ttl_denial(ttl, SETTINGS)
    assert (denial is None) == ok
    if denial is not None:
        assert (denial.reason, denial.code, denial.step) == (
            "LEASE_TTL_OUT_OF_RANGE", "INVALID_ARGUMENT", 2,
        )  # fmt: skip
        assert (denial.metadata["min_ttl_s"], denial.metadata["max_ttl_s"]) == ("2", "60")


# ---- the watch -----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def now_us(self) -> int:
        return self.now


class Store:
    """Leases with compare-and-set, and open orders by principal."""

    def __init__(self, log: list[str]) -> None:
        self.rows: dict[str, Lease] = {}
        self.orders: dict[str, list[tuple[str, int]]] = {}
        self.log = log

    def claim_lapsed(self, replica: str, now: int, stale_before: int, rid: str) -> list[Lease]:
        held = []
        for lease in list(self.rows.values()):
            if lease.stopped_at_us or lease.released_at_us or lease.expires_at_us > now:
                continue
            mine = lease.claimed_by in ("", replica) or lease.claimed_at_us < stale_before
            if mine:
                claimed = self.refresh_claim(
                    lease, now, claimed_by=replica, lapse_request_id=lease.lapse_request_id or rid
                )
                held += [claimed] if claimed else []
        return held

    def refresh_claim(self, lease: Lease, now: int, **changes: Any) -> Lease | None:
        if self.rows.get(lease.principal) != lease:
            return None
        new = dataclasses.replace(lease, claimed_at_us=now, **changes)
        self.rows[lease.principal] = new
        return new

    def principal_open_orders(self, principal: str) -> list[tuple[str, int]]:
        return list(self.orders.get(principal, []))


class Gate:
    def __init__(self, store: Store, log: list[str]) -> None:
        self.store = store
        self.clock = Clock()
        self.log = log
        self.refuse_cancels: set[int] = set()
        self.cancelled: list[tuple[str, CancelCmd]] = []

    def account_hash(self, account: str) -> str:
        return f"h({account})"

    def execute(self, call: m.Call, cmd: CancelCmd) -> Any:
        self.log.append(f"cancel {cmd.broker_order_id}")
        self.cancelled.append((call.principal, cmd))
        if cmd.broker_order_id in self.refuse_cancels:
            return m.Denial("WRITER_UNAVAILABLE", "UNAVAILABLE", 11, "down")
        # Cancelled: no longer open.
        for orders in self.store.orders.values():
            if ("h(U1)", cmd.broker_order_id) in orders:
                orders.remove(("h(U1)", cmd.broker_order_id))
        return object()


class Scoped:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.calls: list[tuple[m.Call, ScopeKind, str, dict[str, str]]] = []
        self.unknown: set[str] = set()

    def set(self, call: m.Call, kind: ScopeKind, value: str, state: m.SwitchState, reason: str,
            evidence: dict[str, str]) -> ScopeResult | m.Denial:  # fmt: skip
        if value in self.unknown:
            return m.Denial("SCOPE_PRINCIPAL_UNKNOWN", "NOT_FOUND", 0, "no such principal")
        self.log.append(f"close {value}")
        self.calls.append((call, kind, value, {"reason": reason, **evidence}))
        stop = ScopedStop(kind, value, state, reason, call.principal, 0, call.request_id, 1)
        return ScopeResult(stop, 1)


def _watch(replica: str = "r1", **settings: Any) -> tuple[DeadManWatch, Gate, Scoped, list[str]]:
    log: list[str] = []
    gate = Gate(Store(log), log)
    scoped = Scoped(log)
    config = dataclasses.replace(SETTINGS, **settings)
    watch = DeadManWatch(gate, scoped, config, replica, ["U1"], lambda: "auto-1")  # type: ignore[arg-type]
    return watch, gate, scoped, log


def _retries() -> float:
    return REGISTRY.get_sample_value("livegate_dead_man_lapse_retries_total") or 0.0


def test_watch_when_a_lease_lapsed_then_scope_closed_first_only_its_orders_cancelled_stopped() -> (
    None
):
    watch, gate, scoped, log = _watch()
    gate.store.rows["alice"] = new_lease("alice", 5, T0)
    gate.store.rows["bob"] = new_lease("bob", 50, T0)
    gate.store.orders = {"alice": [("h(U1)", 7), ("h(U1)", 8)], "bob": [("h(U1)", 9)]}
    gate.clock.now = T0 + 5 * S

    assert watch.run() == 1

    assert log == ["close alice", "cancel 7", "cancel 8"]
    [(call, kind, value, detail)] = scoped.calls
    assert (call.principal, call.method, kind, value) == (
        "auto:dead_man_lease", "AutoStop", ScopeKind.PRINCIPAL, "alice",
    )  # fmt: skip
    assert detail["auto_stop"] == "dead_man_lease"
    assert detail["reason"].startswith("AUTO_STOP_DEAD_MAN_LEASE: ")
    assert [(p, c.account_id, c.key) for p, c in gate.cancelled] == [
        ("auto:dead_man_lease", "U1", f"dm-{T0 + 5 * S}-0-7"),
        ("auto:dead_man_lease", "U1", f"dm-{T0 + 5 * S}-0-8"),
    ]
    alice = gate.store.rows["alice"]
    assert alice.state(gate.clock.now) is LeaseState.STOPPED and alice.claimed_by == "r1"
    assert gate.store.rows["bob"].state(gate.clock.now) is LeaseState.ACTIVE
    gate.clock.now += S
    assert watch.run() == 0 and len(log) == 3  # done: never again


def test_watch_when_a_cancel_fails_then_retried_next_tick_with_a_new_key_and_counted() -> None:
    watch, gate, _, log = _watch()
    gate.store.rows["alice"] = new_lease("alice", 5, T0)
    gate.store.orders = {"alice": [("h(U1)", 7)]}
    gate.refuse_cancels = {7}
    gate.clock.now = T0 + 5 * S
    before = _retries()

    assert watch.run() == 0
    assert gate.store.rows["alice"].state(gate.clock.now) is LeaseState.LAPSED
    assert _retries() == before + 1
    gate.refuse_cancels = set()
    gate.clock.now += S
    assert watch.run() == 1

    assert log == ["close alice", "cancel 7", "cancel 7"]  # the scope closed once
    assert [c.key for _, c in gate.cancelled] == [f"dm-{T0 + 5 * S}-0-7", f"dm-{T0 + 5 * S}-1-7"]
    assert gate.store.rows["alice"].attempts == 1


def test_watch_when_another_replica_holds_a_fresh_claim_then_it_waits_until_stale() -> None:
    watch, gate, _, log = _watch(replica="r2")
    lease = dataclasses.replace(
        new_lease("alice", 5, T0), claimed_by="r1", claimed_at_us=T0 + 5 * S
    )
    gate.store.rows["alice"] = lease
    gate.clock.now = T0 + 14 * S  # 9 s after the claim: stale after 10 s

    assert watch.run() == 0 and log == []
    gate.clock.now = T0 + 15 * S + 1
    assert watch.run() == 1
    assert log == ["close alice"] and gate.store.rows["alice"].claimed_by == "r2"


def test_watch_when_its_claim_is_taken_over_mid_way_then_it_stops_acting() -> None:
    watch, gate, _, log = _watch()
    gate.store.rows["alice"] = new_lease("alice", 5, T0)
    gate.store.orders = {"alice": [("h(U1)", 7), ("h(U1)", 8)]}
    gate.clock.now = T0 + 5 * S
    real_execute = gate.execute

    def steal_after_first(call: m.Call, cmd: CancelCmd) -> Any:
        result = real_execute(call, cmd)
        row = gate.store.rows["alice"]
        gate.store.rows["alice"] = dataclasses.replace(row, claimed_by="r9")
        return result

    gate.execute = steal_after_first  # type: ignore[method-assign]

    assert watch.run() == 0
    assert log == ["close alice", "cancel 7"]  # order 8 is r9's to cancel now
    assert not gate.store.rows["alice"].stopped_at_us


def test_watch_when_turned_off_then_nothing_is_claimed() -> None:
    watch, gate, _, log = _watch(enabled=False)
    gate.store.rows["alice"] = new_lease("alice", 5, T0)
    gate.clock.now = T0 + 60 * S

    assert watch.run() == 0 and log == [] and not gate.store.rows["alice"].claimed_by


def test_watch_when_the_principal_is_no_longer_configured_then_its_orders_still_go() -> None:
    watch, gate, scoped, log = _watch()
    scoped.unknown = {"alice"}
    gate.store.rows["alice"] = new_lease("alice", 5, T0)
    gate.store.orders = {"alice": [("h(U1)", 7)]}
    gate.clock.now = T0 + 5 * S

    assert watch.run() == 1
    assert log == ["cancel 7"]
