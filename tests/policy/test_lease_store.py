"""Dead-man leases in the store, on SQLite and PostgreSQL, through two stores as two replicas:
a claim is a compare-and-set (one replica wins, a stale claim is taken over), a renewal never
overwrites a claim, and a principal's open orders are only its own."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from policy_service.domain.audit import AuditDraft
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.audit_keys import new_keyring
from policy_service.domain.leases import LeaseMoved, new_lease
from policy_service.storage.engine import MIGRATIONS_DIR, make_engines, migrate
from policy_service.storage.store import SqlStore
from policy_service.storage.tables import principal_leases

S = 1_000_000
T0 = 1_000 * S


@pytest.fixture()
def replicas(db_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    chain = ChainKeeper(new_keyring())
    stores = tuple(SqlStore(*make_engines(db_url), chain) for _ in range(2))
    migrate(stores[0].write)
    try:
        yield stores[0], stores[1]
    finally:
        for store in stores:
            store.close()
            store.write.dispose()


def _draft() -> AuditDraft:
    return AuditDraft(method="RenewLease", request_id="r", principal="alice", outcome="RECORDED")


def test_claim_when_two_replicas_race_for_a_lapsed_lease_then_exactly_one_holds_it(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    a, b = replicas
    a.save_lease(new_lease("alice", 5, T0), None, _draft(), T0)
    barrier = threading.Barrier(2)
    held: dict[str, int] = {}

    def claim(store: SqlStore, name: str) -> None:
        barrier.wait()
        held[name] = len(store.claim_lapsed(name, T0 + 6 * S, T0 - 60 * S, f"auto-{name}"))

    threads = [threading.Thread(target=claim, args=(s, n)) for s, n in ((a, "r1"), (b, "r2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert sorted(held.values()) == [0, 1]
    row = a.lease("alice")
    assert row is not None and row.claimed_by == ("r1" if held["r1"] else "r2")
    assert row.lapse_request_id == f"auto-{row.claimed_by}"


def test_claim_when_held_fresh_by_another_then_refused_and_when_stale_then_taken_over(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    a, b = replicas
    a.save_lease(new_lease("alice", 5, T0), None, None, T0)
    [mine] = a.claim_lapsed("r1", T0 + 6 * S, T0 - 60 * S, "auto-1")

    assert b.claim_lapsed("r2", T0 + 7 * S, T0 + 5 * S, "auto-2") == []  # claimed at 6 s
    [taken] = b.claim_lapsed("r2", T0 + 20 * S, T0 + 10 * S, "auto-2")

    assert (taken.claimed_by, taken.lapse_request_id) == ("r2", "auto-1")
    assert a.refresh_claim(mine, T0 + 21 * S) is None  # r1 lost it: it stops acting


def test_renewal_when_the_lease_was_claimed_since_it_was_read_then_lease_moved(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    a, b = replicas
    lease = new_lease("alice", 5, T0)
    a.save_lease(lease, None, None, T0)
    read = b.lease("alice")
    assert read == lease
    a.claim_lapsed("r1", T0 + 5 * S, T0, "auto-1")
    extended = dataclasses.replace(lease, renewed_at_us=T0 + 5 * S, expires_at_us=T0 + 10 * S)

    with pytest.raises(LeaseMoved):
        b.save_lease(extended, read, _draft(), T0 + 5 * S)
    with pytest.raises(LeaseMoved):
        b.save_lease(lease, None, None, T0)  # a second first lease

    stored = a.lease("alice")
    assert stored is not None and stored.expires_at_us == T0 + 5 * S and stored.claimed_by == "r1"


def test_claim_when_stopped_or_released_or_unexpired_then_nothing_is_claimed(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    a, _ = replicas
    now = T0 + 100 * S
    a.save_lease(
        dataclasses.replace(new_lease("a", 5, T0), stopped_at_us=T0 + 6 * S), None, None, T0
    )
    a.save_lease(dataclasses.replace(new_lease("b", 5, T0), released_at_us=T0 + S), None, None, T0)
    a.save_lease(new_lease("c", 500, T0), None, None, T0)

    assert a.claim_lapsed("r1", now, now, "auto-1") == []
    assert [x.principal for x in a.leases()] == ["a", "b", "c"]


def test_principal_open_orders_when_two_principals_hold_orders_then_only_its_own(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    a, _ = replicas
    with a.write.begin() as conn:
        for key, principal, orders in (("k-alice", "alice", (7, 8)), ("k-bob", "bob", (9,))):
            conn.execute(
                sa.text(
                    "INSERT INTO idempotency_records (idempotency_key, request_hash, kind, "
                    "account_hash, status, approval_ids, notional, new_orders, day, "
                    "created_at_us, updated_at_us, principal) VALUES (:k, 'h', 'SUBMIT', 'acct', "
                    "'SUCCEEDED', '[]', '0', 1, '2026-12-04', 1, 1, :p)"
                ),
                {"k": key, "p": principal},
            )
            for order in orders:
                conn.execute(
                    sa.text(
                        "INSERT INTO open_orders (account_hash, broker_order_id, "
                        "idempotency_key, opened_at_us) VALUES ('acct', :o, :k, 1)"
                    ),
                    {"o": order, "k": key},
                )

    assert a.principal_open_orders("alice") == [("acct", 7), ("acct", 8)]
    assert a.principal_open_orders("bob") == [("acct", 9)]
    assert a.principal_open_orders("carol") == []


def test_migration_0010_when_applied_then_the_table_matches_the_store_and_downgrades(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    a, _ = replicas
    with a.write.connect() as conn:
        inspector = sa.inspect(conn)
        columns = {c["name"] for c in inspector.get_columns("principal_leases")}
        indexes = {i["name"] for i in inspector.get_indexes("principal_leases")}
    assert columns == {c.name for c in principal_leases.columns}
    assert indexes == {"ix_principal_leases_watch"}
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with a.write.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
        conn.commit()
        assert "principal_leases" not in sa.inspect(conn).get_table_names()
    migrate(a.write)
    assert a.leases() == []
