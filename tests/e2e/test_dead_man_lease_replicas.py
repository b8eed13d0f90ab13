"""Dead-man leases with two policy replicas sharing PostgreSQL (the real writer, the
simulator): both watch, one acts (one cancel per order, one audited close), and a claim left
by a replica that died is taken over within the stated bound."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from livegate_api.v1 import policy_pb2
from livegate_common.auto_stop_bounds import (
    dead_man_cancels_s,
    dead_man_lease_s,
    dead_man_takeover_s,
)
from tests.e2e.dead_man_support import (
    CHECK_S,
    OTHER,
    OVERRIDES,
    TTL_S,
    auto_cancels,
    auto_scope_closes,
    cancels_sent,
    expires_s,
    lease_of,
    place,
    place_hand_order,
    renew,
    scope_closed,
    status_of,
    stub,
    watch_lapse,
)
from tests.support.postgres import PostgresCluster, postgres_cluster
from tests.support.stack import live_stack
from tests.support.vault import DevVault

WORKING = ("Submitted", "PreSubmitted")
# The writer deadline of a stack is 5 s (broker timeout 1 s): the least stale bound is 6 s.
CLAIM_STALE_S = 6.0


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


def test_lease_when_it_lapses_with_two_postgres_replicas_then_one_acts_once(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, pg: PostgresCluster
) -> None:
    db_url = pg.create_database()
    with live_stack(
        dev_pki, tmp_path, stack_vault, db_url=db_url, replicas=2, policy_overrides=OVERRIDES
    ) as stack:
        first, second = stack.replicas
        mine = [place(stack, first.upstream, first), place(stack, second.upstream, second)]
        theirs = place(stack, stub(stack, OTHER, second), second)
        hand = place_hand_order(stack)
        lease = renew(first.upstream)  # renewed through one replica, watched by both

        bound = dead_man_lease_s(CHECK_S)
        deadline = float(first.service.gate.writer._config.deadline_s)  # type: ignore[attr-defined]
        cancels_bound = dead_man_cancels_s(CHECK_S, deadline, len(mine))
        lapse = watch_lapse(second, "upstream", expires_s(lease), TTL_S + cancels_bound + 5)
        print(
            f"\ndead-man lease (PostgreSQL, 2 replicas): lapse -> scope closed "
            f"{lapse.scope_closed_s:.3f} s (bound {bound:.1f} s); lapse -> {len(mine)} orders "
            f"cancelled {lapse.stopped_s:.3f} s (bound {cancels_bound:.1f} s)"
        )
        assert lapse.scope_closed_s <= bound
        assert lapse.stopped_s <= cancels_bound

        time.sleep(2 * CHECK_S)  # both replicas look again: nothing more may happen
        assert [status_of(stack, o) for o in mine] == ["Cancelled", "Cancelled"]
        assert [cancels_sent(stack, o) for o in (*mine, theirs, hand)] == [1, 1, 0, 0]
        assert status_of(stack, theirs) in WORKING and status_of(stack, hand) in WORKING
        assert len(auto_scope_closes(first)) == 1 and len(auto_cancels(second)) == 2
        acted = lease_of(first, "upstream").claimed_by
        assert acted in (first.service.dead_man.replica, second.service.dead_man.replica)  # type: ignore[union-attr]
        assert scope_closed(first, "upstream") and not scope_closed(first, OTHER)


def test_lease_when_its_claim_was_left_by_a_dead_replica_then_taken_over_after_the_bound(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault, pg: PostgresCluster
) -> None:
    db_url = pg.create_database()
    overrides = {**OVERRIDES, "dead_man.claim_stale_s": CLAIM_STALE_S}
    with live_stack(
        dev_pki, tmp_path, stack_vault, db_url=db_url, replicas=2, policy_overrides=overrides
    ) as stack:
        first, _ = stack.replicas
        order = place(stack, first.upstream)
        lease = renew(first.upstream, 5.0)
        # A replica claimed the lapse at its expiry and died before acting.
        engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
        expires_us = lease.expires_at.ToMicroseconds()
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE principal_leases SET claimed_by = 'dead-replica', claimed_at_us = :e, "
                    "lapse_request_id = 'auto-dead' WHERE principal = 'upstream'"
                ),
                {"e": expires_us},
            )
        engine.dispose()
        stale_at = expires_s(lease) + CLAIM_STALE_S

        bound = dead_man_takeover_s(CHECK_S, CLAIM_STALE_S)
        lapse = watch_lapse(first, "upstream", expires_s(lease), 5.0 + bound + 10)
        print(
            f"\ndead-man lease (PostgreSQL, stalled claim): lapse -> scope closed "
            f"{lapse.scope_closed_s:.3f} s (stale bound {CLAIM_STALE_S:g} s, takeover bound "
            f"{bound:.1f} s)"
        )
        assert lapse.scope_closed_s <= bound
        # Not before the claim went stale: the dead replica's claim held until then.
        assert lapse.scope_closed_s >= stale_at - expires_s(lease) - 0.1
        assert status_of(stack, order) == "Cancelled" and cancels_sent(stack, order) == 1
        assert lease_of(first, "upstream").claimed_by != "dead-replica"
        [close] = auto_scope_closes(first)
        assert close.request_id == "auto-dead"  # the lapse keeps its request id
        assert lease_of(first, "upstream").state == policy_pb2.LEASE_STATE_STOPPED
