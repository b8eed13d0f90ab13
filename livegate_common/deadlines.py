"""Each deadline derived from the one below it, so no layer gives up while the one below works.

broker request timeout (writer: broker.request_timeout_s)
  -> the writer's whole-write budget: write_budget_s()
  -> the policy's writer deadline (writer.deadline_s): at least min_writer_deadline_s()
  -> the policy's pending timeout (idempotency.pending_timeout_s): at least
     min_pending_timeout_s(), so a retry never settles a key whose first call may still run
  -> upstream callers' deadline on a live write: at least min_upstream_deadline_s().
"""

from __future__ import annotations

from typing import Final

# The broker waits one write may make: the acknowledgement, then the read-back of the broker's
# truth before any refusal (open orders, completed orders, executions), each bounded by the
# broker request timeout.
BROKER_WAITS_PER_WRITE: Final = 4
# The writer's own work on one write, outside the broker waits (the loop hops, the index).
WRITER_WORK_S: Final = 0.5
# One gRPC hop over loopback and the caller's own work around it (a commit, the servicer).
HOP_MARGIN_S: Final = 0.5
# A kill-switch close at the writer waits at most this for its hop onto the broker loop (and
# for ib_async to send what it held back for pacing), never for the broker.
CLOSE_HOP_S: Final = 2.0
# The policy's deadline on a kill-switch sync: the writer answers it at once.
SWITCH_SYNC_DEADLINE_S: Final = CLOSE_HOP_S + HOP_MARGIN_S


def write_budget_s(broker_timeout_s: float) -> float:
    """The longest one write may take inside the writer, waiting for its slot included."""
    return BROKER_WAITS_PER_WRITE * broker_timeout_s + WRITER_WORK_S


def min_writer_deadline_s(broker_timeout_s: float) -> float:
    """The least deadline the policy may give a write to the writer."""
    return write_budget_s(broker_timeout_s) + HOP_MARGIN_S


def min_pending_timeout_s(writer_deadline_s: float) -> float:
    """The least age at which a pending key may be settled by a retry."""
    return writer_deadline_s + HOP_MARGIN_S


def min_upstream_deadline_s(writer_deadline_s: float) -> float:
    """The least deadline an upstream caller should give a live write to the policy."""
    return writer_deadline_s + HOP_MARGIN_S
