"""Scoped stops in the store, on SQLite and PostgreSQL: a close revokes its scope's approvals
and no other's, in its own transaction; a stale write stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.audit_keys import new_keyring
from policy_service.domain.scopes import Revocation, ScopedStop, ScopeKind, ScopeMoved, Subject
from policy_service.storage.engine import MIGRATIONS_DIR, make_engines, migrate
from policy_service.storage.store import SqlStore
from tests.support.audit_rows import event_detail

FAR = 10**15
# preview id -> (account, creator, strategy); each has one approval "ap_<preview>" by bob.
PREVIEWS = {
    "p_a": ("U1", "alice", ""),
    "p_b": ("U2", "alice", "grid"),
    "p_c": ("U2", "carol", ""),
}


@pytest.fixture()
def replicas(db_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    chain = ChainKeeper(new_keyring())
    stores = tuple(SqlStore(*make_engines(db_url), chain) for _ in range(2))
    migrate(stores[0].write)
    with stores[0].write.begin() as conn:
        for pid, (account, creator, strategy) in PREVIEWS.items():
            conn.execute(
                sa.text(
                    "INSERT INTO previews (preview_id, kind, account_id, group_id, created_by, "
                    "created_at_us, expires_at_us, body, strategy) VALUES "
                    "(:p, 'ORDER', :a, '', :c, 1, :far, '{}', :s)"
                ),
                {"p": pid, "a": account, "c": creator, "s": strategy, "far": FAR},
            )
    for pid in PREVIEWS:
        approval = m.Approval(f"ap_{pid}", pid, "bob", 2, FAR)
        stores[0].save_approval(approval, "", _draft("Approve"), 2)
    try:
        yield stores[0], stores[1]
    finally:
        for store in stores:
            store.close()
            store.write.dispose()


def _draft(method: str) -> AuditDraft:
    return AuditDraft(method=method, request_id="r", principal="op", outcome="RECORDED")


def _stop(kind: ScopeKind, key: str, version: int = 1, state: str = "CLOSED") -> ScopedStop:
    return ScopedStop(kind, key, m.SwitchState(state), "INC", "op", 10, "r", version)


def _revoked(store: SqlStore) -> set[str]:
    approvals = store.get_approvals([f"ap_{p}" for p in PREVIEWS])
    return {a for a, x in approvals.items() if x.revoked_at_us is not None}


def _detail(store: SqlStore, event_id: int) -> dict[str, str]:
    return event_detail(store.read, event_id)


@pytest.mark.parametrize(
    ("kind", "revocation", "expected"),
    [
        (ScopeKind.ACCOUNT, Revocation("account_id", "U2"), {"ap_p_b", "ap_p_c"}),
        (ScopeKind.PRINCIPAL, Revocation("created_by", "alice"), {"ap_p_a", "ap_p_b"}),
        (ScopeKind.STRATEGY, Revocation("strategy", "grid"), {"ap_p_b"}),
    ],
)
def test_close_when_a_scope_closes_then_only_its_approvals_are_revoked(
    replicas: tuple[SqlStore, SqlStore],
    kind: ScopeKind,
    revocation: Revocation,
    expected: set[str],
) -> None:
    closer, other = replicas

    _, revoked, event_id = closer.save_scoped_stop(
        _stop(kind, "k"), _draft("SetScopedStop"), 10, revocation
    )

    assert _revoked(other) == expected
    detail = _detail(other, event_id)
    assert (
        detail["revoked_approval_ids"]
        == ",".join(sorted(expected))
        == (revoked["revoked_approval_ids"])
    )
    assert (detail["scope_kind"], detail["scope_state"]) == (kind.value, "CLOSED")
    assert [s.key for s in other.closed_scopes([Subject(kind, "k")])] == ["k"]


def test_close_when_the_principal_granted_approvals_then_those_are_revoked_too(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    store, _ = replicas
    revoke = Revocation("created_by", "bob", approved_by="bob")

    store.save_scoped_stop(_stop(ScopeKind.PRINCIPAL, "bob"), _draft("SetScopedStop"), 10, revoke)

    assert _revoked(store) == {f"ap_{p}" for p in PREVIEWS}


def test_save_when_the_row_moved_on_another_replica_then_nothing_is_written(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    first, second = replicas
    first.save_scoped_stop(_stop(ScopeKind.STRATEGY, "grid"), _draft("SetScopedStop"), 10)
    opened = _stop(ScopeKind.STRATEGY, "grid", 2, "OPEN")
    second.save_scoped_stop(opened, _draft("SetScopedStop"), 11)
    with first.read.connect() as conn:
        events = conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()

    with pytest.raises(ScopeMoved):
        first.save_scoped_stop(opened, _draft("SetScopedStop"), 12)  # stale: version 2 again
    with pytest.raises(ScopeMoved):
        first.save_scoped_stop(_stop(ScopeKind.STRATEGY, "grid"), _draft("SetScopedStop"), 12)

    with first.read.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one() == events
    [row] = first.scoped_stops()
    assert (row.state, row.version) == (m.SwitchState.OPEN, 2)
    assert first.closed_scopes([Subject(ScopeKind.STRATEGY, "grid")]) == []


def test_closed_scopes_when_more_principals_than_the_statements_slots_then_still_found(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    store, other = replicas
    store.save_scoped_stop(_stop(ScopeKind.PRINCIPAL, "p4"), _draft("SetScopedStop"), 10)
    store.save_scoped_stop(_stop(ScopeKind.ACCOUNT, "h1"), _draft("SetScopedStop"), 11)
    many = [Subject(ScopeKind.PRINCIPAL, f"p{i}") for i in range(1, 5)]

    found = other.closed_scopes([Subject(ScopeKind.ACCOUNT, "h2"), *many])
    few = other.closed_scopes([Subject(ScopeKind.ACCOUNT, "h1"), *many[:3]])

    assert [(s.kind, s.key) for s in found] == [(ScopeKind.PRINCIPAL, "p4")]
    assert [(s.kind, s.key) for s in few] == [(ScopeKind.ACCOUNT, "h1")]


def test_save_when_a_loosening_to_reducing_is_pending_then_another_replica_reads_its_target(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    first, second = replicas
    first.save_scoped_stop(_stop(ScopeKind.ACCOUNT, "h1"), _draft("SetScopedStop"), 10)
    asked = replace(
        _stop(ScopeKind.ACCOUNT, "h1", 2),
        reopen_by="op",
        reopen_reason="only unwind",
        reopen_request_id="r2",
        reopen_expires_at_us=FAR,
        reopen_target=m.SwitchState.REDUCING,
    )

    first.save_scoped_stop(asked, _draft("SetScopedStop"), 11)

    found = second.scoped_stop(ScopeKind.ACCOUNT, "h1")
    assert found is not None and found.reopen_pending(12)
    assert (found.state, found.reopen_target) == (m.SwitchState.CLOSED, m.SwitchState.REDUCING)
    with second.read.connect() as conn:
        stored = conn.execute(sa.text("SELECT reopen_target FROM scoped_stops")).scalar_one()
    assert stored == "REDUCING"


def test_save_when_no_loosening_is_pending_then_no_target_is_stored(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    store, other = replicas

    store.save_scoped_stop(_stop(ScopeKind.STRATEGY, "grid"), _draft("SetScopedStop"), 10)

    with other.read.connect() as conn:
        stored = conn.execute(sa.text("SELECT reopen_target FROM scoped_stops")).scalar_one()
    found = other.scoped_stop(ScopeKind.STRATEGY, "grid")
    assert stored == "" and found is not None and found.reopen_target is m.SwitchState.OPEN


@pytest.mark.parametrize("principals", [1, 5])  # the fixed statement, and the fallback
def test_stopped_scopes_when_a_scope_is_reducing_then_found_and_not_among_the_closed(
    replicas: tuple[SqlStore, SqlStore], principals: int
) -> None:
    store, other = replicas
    reducing = _stop(ScopeKind.ACCOUNT, "h1", state="REDUCING")
    store.save_scoped_stop(reducing, _draft("SetScopedStop"), 10, Revocation("account_id", "U1"))
    store.save_scoped_stop(_stop(ScopeKind.PRINCIPAL, "p0"), _draft("SetScopedStop"), 11)
    wanted = [Subject(ScopeKind.ACCOUNT, "h1")]
    wanted += [Subject(ScopeKind.PRINCIPAL, f"p{i}") for i in range(principals)]

    stopped = other.stopped_scopes(wanted)
    closed = other.closed_scopes(wanted)

    assert sorted((s.key, s.state.value) for s in stopped) == [
        ("h1", "REDUCING"), ("p0", "CLOSED"),
    ]  # fmt: skip
    assert [s.key for s in closed] == ["p0"]
    assert _revoked(other) == {"ap_p_a"}  # OPEN -> REDUCING revokes as a close does


def test_migration_0011_when_downgraded_then_reducing_scopes_close_and_upgrade_restores(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    store, _ = replicas
    store.save_scoped_stop(_stop(ScopeKind.ACCOUNT, "h1", state="REDUCING"), _draft("S"), 10)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    with store.write.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
        conn.commit()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("scoped_stops")}
        state = conn.execute(sa.text("SELECT state FROM scoped_stops")).scalar_one()
    migrate(store.write)

    assert "reopen_target" not in columns and state == "CLOSED"  # never looser than set
    found = store.scoped_stop(ScopeKind.ACCOUNT, "h1")
    assert found is not None and (found.state, found.reopen_target) == (
        m.SwitchState.CLOSED, m.SwitchState.OPEN,
    )  # fmt: skip
