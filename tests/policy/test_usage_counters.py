"""The trigger-kept counts (migration 0003) equal what they count, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.audit_keys import new_keyring
from policy_service.domain.limits import Usage
from policy_service.domain.ports import PendingWrite
from policy_service.storage.engine import MIGRATIONS_DIR, make_engines, migrate
from policy_service.storage.store import SqlStore

DAY = "2026-11-25"
A, B = "a" * 64, "b" * 64
T0 = 1_800_000_000_300_000  # a write at .3 of its second


@pytest.fixture()
def store(db_url: str) -> Iterator[SqlStore]:
    write, read = make_engines(db_url)
    migrate(write)
    built = SqlStore(write, read, ChainKeeper(new_keyring()))
    built.set_kill_switch(m.SwitchState.OPEN, "test", "t", "r", _draft(), 1)
    try:
        yield built
    finally:
        built.close()
        write.dispose()
        if read is not write:
            read.dispose()


def _draft(outcome: str = "RECORDED") -> AuditDraft:
    return AuditDraft(
        method="SubmitOrder", request_id="r", principal="p", outcome=outcome, gate_step=10
    )


def _pending(key: str, account: str = A) -> PendingWrite:
    return PendingWrite(
        key=key,
        request_hash="h",
        kind=m.Kind.SUBMIT,
        account_hash=account,
        approval_ids=(),
        notional=Decimal("1"),
        new_orders=1,
        day=DAY,
    )


def _begin(store: SqlStore, key: str, now_us: int, account: str = A, deny: bool = False) -> Usage:
    seen: list[Usage] = []

    def check(usage: Usage) -> m.Denial | None:
        seen.append(usage)
        return m.Denial("ORDER_RATE_EXCEEDED", "FAILED_PRECONDITION", 9, "no") if deny else None

    result = store.begin(_pending(key, account), check, _draft("PENDING"), now_us)
    assert result.started is not deny
    return seen[0]


def _open(store: SqlStore, key: str, broker_id: int, now_us: int) -> None:
    store.finish(key, "SUCCEEDED", {"orders": []}, [broker_id], [], _draft(), now_us)


def _counts(
    store: SqlStore,
) -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int]]:
    with store.read.connect() as conn:

        def grouped(sql: str) -> dict[str, int]:
            return {row[0]: int(row[1]) for row in conn.execute(sa.text(sql)) if int(row[1])}

        return (
            grouped("SELECT account_hash, n FROM open_order_counts"),
            grouped("SELECT account_hash, count(*) FROM open_orders GROUP BY account_hash"),
            grouped("SELECT account_hash, sum(n) FROM rate_buckets GROUP BY account_hash"),
            grouped("SELECT account_hash, count(*) FROM idempotency_records GROUP BY account_hash"),
        )


def test_counts_when_orders_open_end_and_writes_land_then_they_equal_the_rows(
    store: SqlStore,
) -> None:
    for i in range(6):
        _begin(store, f"a{i}", T0 + i * 400_000)
        _open(store, f"a{i}", 100 + i, T0 + i * 400_000 + 1)
    _begin(store, "b0", T0, account=B)
    _open(store, "b0", 200, T0 + 1)
    _begin(store, "refused", T0 + 5, deny=True)  # rolled back: counts nothing
    store.forget_open_orders(A, [101, 103, 999])  # 999: never counted
    store.finish("a5", "SUCCEEDED", None, [], [100], _draft(), T0 + 9)  # a cancel of 100
    counted, opened, buckets, records = _counts(store)
    assert counted == opened == {A: 3, B: 1}
    assert buckets == records == {A: 6, B: 1}


def test_rate_when_own_pending_record_then_not_counted_against_itself(store: SqlStore) -> None:
    assert _begin(store, "k1", T0).orders_last_minute == 0
    assert _begin(store, "k2", T0 + 1).orders_last_minute == 1
    assert store.usage(A, DAY, T0 + 2).orders_last_minute == 2


def test_rate_when_a_write_is_a_minute_old_then_it_counts_until_its_second_is_out(
    store: SqlStore,
) -> None:
    """Whole seconds: a write counts a little longer than a minute, never shorter."""
    _begin(store, "k1", T0)
    assert store.usage(A, DAY, T0 + 59_900_000).orders_last_minute == 1
    # 60.2 s on, the exact minute no longer holds it; its second still starts inside it.
    assert store.usage(A, DAY, T0 + 60_200_000).orders_last_minute == 1
    assert store.usage(A, DAY, T0 + 60_700_000).orders_last_minute == 0


def test_prune_when_buckets_are_old_then_only_those_go(store: SqlStore) -> None:
    _begin(store, "old", T0)
    _begin(store, "new", T0 + 4_000_000_000)
    assert store.prune_rate_buckets(T0 // 1_000_000 + 1) == 1
    assert _counts(store)[2] == {A: 1}
    assert store.usage(A, DAY, T0 + 4_000_000_001).orders_last_minute == 1


def test_migration_when_rows_exist_then_counts_start_from_them(db_url: str) -> None:
    write, read = make_engines(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with write.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
            conn.commit()
        with write.begin() as conn:
            for i, created in enumerate([T0, T0 + 1, T0 + 2_000_000, T0 - 7_200_000_000]):
                conn.execute(
                    sa.text(
                        "INSERT INTO idempotency_records (idempotency_key, request_hash, kind, "
                        "account_hash, status, approval_ids, notional, new_orders, day, "
                        "created_at_us, updated_at_us) VALUES (:k, 'h', 'SUBMIT', :a, "
                        "'SUCCEEDED', '[]', '1', 1, :d, :c, :c)"
                    ),
                    {"k": f"k{i}", "a": A, "d": DAY, "c": created},
                )
            for broker_id in (1, 2):
                conn.execute(
                    sa.text(
                        "INSERT INTO open_orders (account_hash, broker_order_id, "
                        "idempotency_key, opened_at_us) VALUES (:a, :b, 'k0', 1)"
                    ),
                    {"a": A, "b": broker_id},
                )
        migrate(write)
        with write.connect() as conn:
            counted = conn.execute(sa.text("SELECT n FROM open_order_counts")).scalar_one()
            buckets = dict(conn.execute(sa.text("SELECT epoch_s, n FROM rate_buckets")).all())
        assert counted == 2
        # The write two hours older than the newest is past any window: not carried over.
        assert buckets == {T0 // 1_000_000: 2, T0 // 1_000_000 + 2: 1}
    finally:
        write.dispose()
        if read is not write:
            read.dispose()


def test_migration_when_downgraded_and_upgraded_again_then_counts_still_kept(db_url: str) -> None:
    write, read = make_engines(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        migrate(write)
        with write.connect() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0002")
            conn.commit()
            tables = set(sa.inspect(conn).get_table_names())
        assert not {"open_order_counts", "rate_buckets"} & tables
        migrate(write)
        store = SqlStore(write, read, ChainKeeper(new_keyring()))
        store.set_kill_switch(m.SwitchState.OPEN, "test", "t", "r", _draft(), 1)
        _begin(store, "k1", T0)
        _open(store, "k1", 7, T0 + 1)
        store.close()
        counted, opened, buckets, records = _counts(store)
        assert counted == opened == {A: 1}
        assert buckets == records == {A: 1}
    finally:
        write.dispose()
        if read is not write:
            read.dispose()
