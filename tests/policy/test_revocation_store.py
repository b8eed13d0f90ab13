"""Approvals die with a close, in the store: on SQLite and PostgreSQL, seen by every replica."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from policy_service.domain import approvals
from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.audit_keys import new_keyring
from policy_service.domain.ports import PendingWrite
from policy_service.storage.engine import make_engines, migrate
from policy_service.storage.store import SqlStore
from tests.support.audit_rows import event_detail

ACCOUNT = "b" * 64
FAR = 10**15


@pytest.fixture()
def replicas(db_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two stores on one database, migrated, the switch open, approval ap1 granted."""
    chain = ChainKeeper(new_keyring())  # replicas share one keyring, as they read one Vault path
    stores = tuple(SqlStore(*make_engines(db_url), chain) for _ in range(2))
    migrate(stores[0].write)
    _set(stores[0], m.SwitchState.OPEN, 1)
    stores[0].save_approval(m.Approval("ap1", "p1", "bob", 2, FAR), "", _draft("Approve"), 2)
    try:
        yield stores[0], stores[1]
    finally:
        for store in stores:
            store.close()
            store.write.dispose()


def _draft(method: str) -> AuditDraft:
    return AuditDraft(method=method, request_id="r", principal="p", outcome="RECORDED")


def _set(store: SqlStore, state: m.SwitchState, now_us: int) -> int:
    return store.set_kill_switch(state, "test", "op", "r", _draft("SetKillSwitch"), now_us)[1]


def _pending(key: str) -> PendingWrite:
    day = "2026-12-03"
    return PendingWrite(key, "h" * 64, m.Kind.SUBMIT, ACCOUNT, ("ap1",), Decimal(1), 1, day)


def _detail(store: SqlStore, event_id: int) -> dict[str, str]:
    return event_detail(store.read, event_id)


def test_begin_when_a_close_on_another_replica_revoked_the_approval_then_approval_revoked(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    """A close between step 8's read and step 10's reservation: told to approve again."""
    closer, writer = replicas
    close_event = _set(closer, m.SwitchState.CLOSED, 10)
    _set(closer, m.SwitchState.OPEN, 11)

    begun = writer.begin(_pending("k1"), lambda _u: None, _draft("SubmitOrder"), 12)

    assert begun.denial is not None
    assert (begun.denial.reason, begun.denial.step) == ("APPROVAL_REVOKED", 8)
    assert begun.denial.metadata == {"approval_id": "ap1", "revoked_at_us": "10"}
    assert writer.get_record("k1") is None
    detail = _detail(closer, close_event)
    assert (detail["revoked_approvals"], detail["revoked_approval_ids"]) == ("1", "ap1")
    assert detail["revoked_preview_ids"] == "p1"


def test_finish_when_a_reserved_approval_was_revoked_and_the_write_refused_then_still_revoked(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    """A write in flight at the close that the broker refuses releases its reservation; the
    approval must not come back usable with it."""
    first, second = replicas
    assert first.begin(_pending("k1"), lambda _u: None, _draft("SubmitOrder"), 3).started
    close_event = _set(second, m.SwitchState.CLOSED, 10)
    first.finish("k1", "REFUSED", {"denial": {}}, [], [], _draft("SubmitOrder"), 11)
    _set(second, m.SwitchState.OPEN, 12)

    approval = second.get_approvals(["ap1"])["ap1"]

    assert (approval.reserved_key, approval.consumed_at_us, approval.revoked_at_us) == (
        None,
        None,
        10,
    )
    denial = approvals.check_approval(approval, "ap1", "p1", 13)
    assert denial is not None and denial.reason == "APPROVAL_REVOKED"
    assert _detail(second, close_event)["revoked_approval_ids"] == "ap1"


def test_close_when_nothing_is_outstanding_then_the_event_says_none_revoked(
    replicas: tuple[SqlStore, SqlStore],
) -> None:
    store, _ = replicas
    _set(store, m.SwitchState.CLOSED, 10)
    again = _set(store, m.SwitchState.CLOSED, 11)  # ap1 already revoked by the first close

    detail = _detail(store, again)

    assert (detail["revoked_approvals"], detail["revoked_approval_ids"]) == ("0", "")
