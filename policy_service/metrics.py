"""Gauges read from the database when scraped, so every replica reports the shared truth."""

from __future__ import annotations

import logging
import math
import time

from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from livegate_common.metrics import KILL_SWITCH_CLOSED, KILL_SWITCH_REDUCING
from policy_service.domain import model as m
from policy_service.domain.ports import StoreUnavailable
from policy_service.lease_metrics import COLLECTOR as LEASES
from policy_service.scope_metrics import COLLECTOR as SCOPES
from policy_service.storage.store import SqlStore
from policy_service.storage.tables import audit_head

log = logging.getLogger(__name__)

AUDIT_HEAD = Gauge("livegate_audit_chain_head_event_id", "event_id of the audit chain head")
REOPEN_PENDING = Gauge(
    "livegate_kill_switch_reopen_pending",
    "1 while a reopen waits for a second operator's confirmation (unexpired, switch unchanged)",
)


def register_state_gauges(store: SqlStore) -> None:
    def in_state(state: m.SwitchState) -> float:
        try:
            return 1.0 if store.kill_switch().state is state else 0.0
        except (SQLAlchemyError, StoreUnavailable):
            # The store wraps driver errors as StoreUnavailable; a scrape must not raise, and
            # unknown is not "open".
            return math.nan

    def closed() -> float:
        return in_state(m.SwitchState.CLOSED)

    def reducing() -> float:
        return in_state(m.SwitchState.REDUCING)

    def head() -> float:
        try:
            with store.read.connect() as conn:
                row = conn.execute(select(audit_head.c.last_event_id)).one()
            return float(row.last_event_id)
        except SQLAlchemyError:
            return math.nan

    def reopen_pending() -> float:
        try:
            pending = store.pending_reopen()
            switch = store.kill_switch()
        except StoreUnavailable:
            return math.nan
        now_us = time.time_ns() // 1000
        return 1.0 if pending is not None and pending.live(now_us, switch.version) else 0.0

    KILL_SWITCH_CLOSED.set_function(closed)
    KILL_SWITCH_REDUCING.set_function(reducing)
    AUDIT_HEAD.set_function(head)
    REOPEN_PENDING.set_function(reopen_pending)
    SCOPES.store = store
    LEASES.store = store
