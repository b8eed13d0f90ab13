"""The state gauges when the store is down: a scrape reports unknown (NaN), never raises."""

from __future__ import annotations

import math
from typing import cast

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from policy_service.domain import model as m
from policy_service.domain.ports import StoreUnavailable
from policy_service.metrics import register_state_gauges
from policy_service.storage.store import SqlStore


class _DownStore:
    """What SqlStore does during an outage: its reads raise StoreUnavailable, and its engine
    cannot connect (nothing listens on loopback port 1)."""

    read = create_engine("postgresql+psycopg://livegate@127.0.0.1:1/none", poolclass=NullPool)

    def kill_switch(self) -> None:
        raise StoreUnavailable("connection refused")

    def pending_reopen(self) -> None:
        raise StoreUnavailable("connection refused")

    def leases(self) -> None:
        raise StoreUnavailable("connection refused")


def test_scrape_when_store_unavailable_then_state_gauges_are_nan() -> None:
    register_state_gauges(cast(SqlStore, _DownStore()))
    closed = REGISTRY.get_sample_value("livegate_kill_switch_closed")
    pending = REGISTRY.get_sample_value("livegate_kill_switch_reopen_pending")
    assert closed is not None and math.isnan(closed)
    assert pending is not None and math.isnan(pending)
    head = REGISTRY.get_sample_value("livegate_audit_chain_head_event_id")
    assert head is not None and math.isnan(head)
    lapsed = REGISTRY.get_sample_value("livegate_dead_man_leases", {"state": "LAPSED"})
    assert lapsed is not None and math.isnan(lapsed)


class _SwitchIn:
    """A store whose switch reads STATE (and nothing else: the other gauges read NaN)."""

    read = _DownStore.read

    def __init__(self, state: m.SwitchState):
        self.state = state

    def kill_switch(self) -> m.KillSwitch:
        return m.KillSwitch(self.state, "test", "operator", 0, 1)

    def pending_reopen(self) -> None:
        return None


@pytest.mark.parametrize(
    ("state", "closed", "reducing"),
    [
        (m.SwitchState.OPEN, 0.0, 0.0),
        (m.SwitchState.REDUCING, 0.0, 1.0),
        (m.SwitchState.CLOSED, 1.0, 0.0),
    ],
)
def test_scrape_when_switch_in_a_state_then_closed_only_for_closed_and_reducing_for_reducing(
    state: m.SwitchState, closed: float, reducing: float
) -> None:
    register_state_gauges(cast(SqlStore, _SwitchIn(state)))
    assert REGISTRY.get_sample_value("livegate_kill_switch_closed") == closed
    assert REGISTRY.get_sample_value("livegate_kill_switch_reducing") == reducing
