"""How long each automatic stop may take, from its event to the kill switch closed: the bounds
the runbook states and the tests hold the services to (docs/live-runbook.md, section 1)."""

from __future__ import annotations

from typing import Final

from livegate_common.deadlines import SWITCH_SYNC_DEADLINE_S

# The close itself once a replica acts: the writer's sync (bounded), then the store.
CLOSE_S: Final = SWITCH_SYNC_DEADLINE_S + 1.0
# How often the writer looks at its session's connection.
SESSION_POLL_S: Final = 0.1


def writer_tripped_s(detect_s: float, poll_s: float) -> float:
    """A writer-side trigger: the writer closes itself within DETECT_S of the event; a replica
    claims the trip within its poll interval, then closes the durable switch."""
    return detect_s + poll_s + CLOSE_S


def unexplained_order_s(check_interval_s: float, broker_timeout_s: float, poll_s: float) -> float:
    """An order placed by hand: the next periodic look (two order queries) sees it."""
    return writer_tripped_s(check_interval_s + 2 * broker_timeout_s + 1.0, poll_s)


def session_lost_s(after_s: float, poll_s: float) -> float:
    """From the session's loss: after_s, and the watch's next look."""
    return writer_tripped_s(after_s + SESSION_POLL_S, poll_s)


def broker_rejections_s(poll_s: float) -> float:
    """From the N-th rejection's answer: the writer closed itself before it answered."""
    return writer_tripped_s(0.0, poll_s)


def probe_mismatch_s(probe_interval_s: float, probe_timeout_s: float, poll_s: float) -> float:
    """From the gateway's change: the next periodic probe (bounded) finds it."""
    return writer_tripped_s(probe_interval_s + 3 * probe_timeout_s + 15.0, poll_s)


def audit_write_failure_s() -> float:
    """From the failed write: this replica and the writer closed (the close is stored once
    the store takes writes again, retried every writer.sync_interval_s)."""
    return CLOSE_S


# A lapsed lease's scope close once a replica claimed it: a store transaction (the close and
# its audit event, the approvals revoked); no writer call.
LEASE_CLOSE_S: Final = 1.0


def dead_man_lease_s(check_interval_s: float) -> float:
    """From a lease's lapse (its last renewal + ttl_s) to the principal's scope closed: the
    next look of some replica, then the close."""
    return check_interval_s + LEASE_CLOSE_S


def dead_man_cancels_s(check_interval_s: float, writer_deadline_s: float, orders: int) -> float:
    """From the lapse to the principal's ORDERS open orders cancelled (the writer answering):
    the scope closed first, then one cancel after the other, each within writer.deadline_s."""
    return dead_man_lease_s(check_interval_s) + orders * writer_deadline_s


def dead_man_takeover_s(check_interval_s: float, claim_stale_s: float) -> float:
    """From the lapse to the scope closed when the replica that claimed it died at once: its
    claim goes stale, and another replica's next look takes it over."""
    return claim_stale_s + dead_man_lease_s(check_interval_s)
