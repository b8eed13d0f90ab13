"""The PostgreSQL fast path of the store: audit links made between the head lock and the
insert, batched round trips, autocommit reads and the cheap pre-checkout ping keep the
invariants of the plain path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft, event_link
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.audit_keys import new_keyring
from policy_service.domain.limits import Usage
from policy_service.domain.ports import PendingWrite
from policy_service.storage import audit_store, raw
from policy_service.storage import engine as engine_mod
from policy_service.storage.engine import make_engines, migrate
from policy_service.storage.store import SqlStore

DAY = "2026-11-25"
# Replicas of one chain share the keyring.
KEYRING = new_keyring()
ACCOUNT = "a" * 64


def _store(url: str) -> SqlStore:
    write, read = make_engines(url)
    return SqlStore(write, read, ChainKeeper(KEYRING))


@pytest.fixture()
def stores(pg_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two stores on one database: two replicas."""
    first, second = _store(pg_url), _store(pg_url)
    migrate(first.write)
    try:
        yield first, second
    finally:
        for store in (first, second):
            store.close()
            store.write.dispose()


def _draft(i: int = 0, **fields: object) -> AuditDraft:
    values: dict[str, object] = {
        "method": "SubmitOrder",
        "request_id": f"r{i}",
        "principal": "alice",
        "outcome": "PENDING",
        "gate_step": 10,
    }
    values.update(fields)
    return AuditDraft(**values)  # type: ignore[arg-type]


def _open(store: SqlStore) -> None:
    store.set_kill_switch(m.SwitchState.OPEN, "test", "t", "r", _draft(outcome="RECORDED"), 1)


def _events(store: SqlStore) -> list[dict[str, object]]:
    with store.read.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_events ORDER BY event_id")).all()
    return [dict(r._mapping) for r in rows]


def _verified(store: SqlStore) -> int:
    walk, head = audit_store.walk(store.write, KEYRING)
    problem = walk.finish(
        head.last_event_id, head.last_hash, head.purged_through_event_id, head.purged_through_hash
    )
    assert problem is None, problem
    return walk.checked


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"principal": 'quote " backslash \\ slash / tab \t nl \n nul-free \x01'},
        {"principal": "unicode é ü 漢字 😀", "reason": "\u2028\u2029"},
        {"detail": {"k": 'v"\\', "ü": "😀", "z": "", "a": "1"}},
        {"broker_order_id": 2**62, "gate_step": -1},
        # The stand-ins of the canonical JSON's pieces appear in the event's own values: its
        # JSON is built whole under the head lock instead, and the chain is the same.
        {"detail": {"x": "g" * 64}},
        {"broker_order_id": 9_223_372_036_854_775_807},
    ],
)
def test_append_when_linked_under_the_head_lock_then_the_links_verify(
    stores: tuple[SqlStore, SqlStore], fields: dict[str, object]
) -> None:
    store, _ = stores
    for i in range(3):
        store.append_audit(_draft(i, **fields), 1_000 + i)
    events = _events(store)
    for event in events:
        assert event_link(KEYRING.current, event) == event["hash"]
    assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
    assert _verified(store) == len(events)


def test_append_when_two_replicas_race_then_the_chain_has_no_gap_or_fork(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    first, second = stores

    def append(i: int) -> int:
        return (first if i % 2 else second).append_audit(_draft(i), 1_000 + i)

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(append, range(400)))
    assert sorted(ids) == list(range(1, 401))
    assert _verified(first) == 400


def _pending(key: str, approval_ids: tuple[str, ...] = ()) -> PendingWrite:
    return PendingWrite(
        key=key,
        request_hash="h" * 64,
        kind=m.Kind.SUBMIT,
        account_hash=ACCOUNT,
        approval_ids=approval_ids,
        notional=Decimal("10.5"),
        new_orders=1,
        day=DAY,
    )


def test_begin_when_replicas_race_a_limit_then_it_is_never_exceeded(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    """The usage figures are read after the account's row lock is held, not before it."""
    first, second = stores
    _open(first)
    limit = 7

    def check(usage: Usage) -> m.Denial | None:
        if usage.open_orders + 1 > limit:
            return m.Denial("OPEN_ORDERS_EXCEEDED", "FAILED_PRECONDITION", 10, "full")
        return None

    def begin(i: int) -> bool:
        store = first if i % 2 else second
        result = store.begin(_pending(f"k{i}"), check, _draft(i), 1_000 + i)
        return result.started

    with ThreadPoolExecutor(16) as pool:
        started = sum(pool.map(begin, range(60)))
    assert started == limit
    with first.read.connect() as conn:
        daily = conn.execute(sa.text("SELECT daily_notional FROM account_usage")).scalar_one()
    assert Decimal(daily) == Decimal("10.5") * limit
    assert _verified(first) == 1 + limit  # the switch's event and one per started write


def test_begin_when_the_key_is_inserted_by_another_replica_first_then_existing(
    stores: tuple[SqlStore, SqlStore], pg_url: str
) -> None:
    """The pending insert waits for the other transaction, then finds the key taken."""
    store, _ = stores
    _open(store)
    url = sa.engine.make_url(pg_url)
    other = psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database)
    try:
        other.execute(
            "INSERT INTO idempotency_records (idempotency_key, request_hash, kind, account_hash,"
            " status, approval_ids, notional, new_orders, day, created_at_us, updated_at_us)"
            " VALUES ('k', 'x', 'SUBMIT', %s, 'PENDING', '[]', '0', 1, %s, 1, 1)",
            (ACCOUNT, DAY),
        )
        results = []
        thread = threading.Thread(
            target=lambda: results.append(
                store.begin(_pending("k"), lambda _u: None, _draft(), 2_000)
            )
        )
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting on the other transaction's key
        other.commit()
        thread.join(10)
    finally:
        other.close()
    (result,) = results
    assert not result.started
    assert result.existing is not None and result.existing.request_hash == "x"
    assert _verified(store) == 1  # only the switch's event: the loser wrote nothing


def _begun_with_approval(store: SqlStore) -> SqlStore:
    """Switch open, approval ap1 saved, key k1 begun on it (events 1-3)."""
    _open(store)
    approval = m.Approval("ap1", "p1", "bob", 1, 10**12, None, None)
    store.save_approval(approval, "", _draft(outcome="RECORDED"), 2)
    assert store.begin(_pending("k1", ("ap1",)), lambda _u: None, _draft(), 3).started
    return store


def test_begin_when_an_approval_is_taken_then_nothing_of_the_batch_stays(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store = _begun_with_approval(stores[0])
    refused = store.begin(_pending("k2", ("ap1",)), lambda _u: None, _draft(), 4)
    assert refused.denial is not None and refused.denial.reason == "APPROVAL_CONSUMED"
    assert store.get_record("k2") is None  # the batched insert rolled back
    usage = store.usage(ACCOUNT, DAY, 5)
    assert usage.daily_notional == Decimal("10.5")  # only k1's
    assert _verified(store) == 3


def test_finish_then_outcome_opened_order_and_event_commit_together(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store = _begun_with_approval(stores[0])
    event_id = store.finish("k1", "SUCCEEDED", {"orders": []}, [77], [], _draft(), 4)
    assert event_id == 4
    record = store.get_record("k1")
    assert record is not None and record.status == "SUCCEEDED"
    assert store.get_approvals(["ap1"])["ap1"].consumed_at_us == 4
    assert store.usage(ACCOUNT, DAY, 5).open_orders == 1
    assert _verified(store) == 4


def test_reads_when_pinned_then_no_transaction_is_left_open(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    """Autocommit reads hand the connection back as they found it (not in autocommit)."""
    store, _ = stores
    with store.reading():
        store.kill_switch()
        assert store.audit_available()
        assert store.get_record("nope") is None
        pinned = store._pinned.conn
        assert not pinned.in_transaction()
        driver = pinned.connection.dbapi_connection
        assert driver.autocommit is False
        assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        _open(store)  # a write transaction on the same pinned connection
        assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert store.kill_switch().state is m.SwitchState.OPEN


def _backend_pids(store: SqlStore) -> set[int]:
    with store.read.connect() as conn:
        return {conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()}


def test_checkout_when_the_server_ended_the_session_then_a_fresh_one_serves(
    stores: tuple[SqlStore, SqlStore], pg_url: str
) -> None:
    """No refusal after pg_terminate_backend: the closed socket is seen without a ping."""
    store, _ = stores
    old = _backend_pids(store)
    admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        for pid in old:
            conn.execute(sa.text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
    admin.dispose()
    assert store.kill_switch().state is m.SwitchState.CLOSED  # no error surfaced
    assert _backend_pids(store).isdisjoint(old)


def test_checkout_when_recently_used_and_healthy_then_no_ping(
    stores: tuple[SqlStore, SqlStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = stores
    store.kill_switch()  # a connection in the pool, just checked in
    pings: list[Any] = []
    dialect = store.read.dialect
    real = dialect._do_ping_w_event

    def counting(conn: Any) -> bool:
        pings.append(conn)
        return real(conn)

    monkeypatch.setattr(dialect, "_do_ping_w_event", counting)
    store.kill_switch()
    assert pings == []
    monkeypatch.setattr(engine_mod, "IDLE_PING_S", -1.0)  # every checked-in one is now "idle"
    store.kill_switch()
    assert len(pings) == 1


def test_usage_when_tables_have_no_statistics_yet_then_in_flight_sum_searches_by_status(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    """A fresh database has no statistics; the in-flight sum must still not walk history."""
    store, _ = stores
    sql = raw.Statements("postgresql").usage_all.sql
    params = {"b_account": ACCOUNT, "b_since_s": 0, "b_own": 0, "b_exclude": "", "b_day": DAY}
    with store.read.connect() as conn:
        driver = conn.connection.dbapi_connection
        assert driver is not None
        plan = [row[0] for row in driver.execute("EXPLAIN " + sql, params)]
    for status in ("PENDING", "UNKNOWN"):
        assert any(
            "Index Cond" in line and f"(status)::text = '{status}'::text" in line for line in plan
        ), plan


def test_batch_when_no_transaction_is_open_then_it_begins_one_without_a_round_trip_alone(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    """Our BEGIN goes in the batch; psycopg's own (sent and waited for alone) stays out."""
    store, _ = stores
    q = raw.Statements("postgresql")
    notices: list[str] = []
    with store.write.connect() as conn:
        driver: Any = conn.connection.dbapi_connection
        driver.add_notice_handler(lambda diag: notices.append(str(diag.message_primary)))
        conn.begin()
        cursors = raw.batch(conn, [(q.switch, None), (q.switch_count, None)])
        assert [raw.first_of(c, q.switch_count).n for c in cursors[1:]] == [1]
        cursors[0].close()
        assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert driver.autocommit is False
        conn.rollback()
        assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert notices == []  # no "there is already a transaction in progress"
