"""The writer's own switch as the policy sees it: its answer to a sync, and what that confirms."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from policy_service.domain import model as m

# How many in-flight writes an audit event lists (the count is always there).
MAX_LISTED: Final = 100


class WriterSwitchState(enum.StrEnum):
    CONFIRMED_CLOSED = "CONFIRMED_CLOSED"
    CONFIRMED_OPEN = "CONFIRMED_OPEN"
    CONFIRMED_REDUCING = "CONFIRMED_REDUCING"
    # No answer, or an answer that is not the requested state.
    NOT_CONFIRMED = "NOT_CONFIRMED"


@dataclass(frozen=True)
class InFlightWrite:
    """A write the writer had sent to the broker, unanswered, when its switch closed."""

    request_id: str
    operation: str
    idempotency_key: str
    broker_order_id: int


@dataclass(frozen=True)
class WriterSwitch:
    """The writer's answer to SetKillSwitch: its switch as it now is."""

    # None: a state this policy does not know (never confirms anything).
    state: m.SwitchState | None
    version: int
    in_flight: tuple[InFlightWrite, ...] = ()


def confirmed(requested: m.SwitchState, answer: WriterSwitch | None) -> WriterSwitchState:
    """CONFIRMED_* only when the writer answered with the requested state."""
    if answer is None or answer.state is not requested:
        return WriterSwitchState.NOT_CONFIRMED
    if requested is m.SwitchState.CLOSED:
        return WriterSwitchState.CONFIRMED_CLOSED
    if requested is m.SwitchState.REDUCING:
        return WriterSwitchState.CONFIRMED_REDUCING
    return WriterSwitchState.CONFIRMED_OPEN


def audit_detail(
    state: WriterSwitchState, answer: WriterSwitch | None, error: str
) -> dict[str, str]:
    """What an audit event of a sync records: the writer's state, its in-flight writes, why."""
    in_flight: Sequence[InFlightWrite] = answer.in_flight if answer else ()
    detail = {"writer_state": state.value, "writer_in_flight": str(len(in_flight))}
    if answer is not None:
        said = answer.state.value if answer.state else "UNKNOWN"
        detail["writer_answer"] = f"{said} version={answer.version}"
    if in_flight:
        detail["writer_in_flight_writes"] = json.dumps(
            [
                {
                    "request_id": w.request_id,
                    "operation": w.operation,
                    "idempotency_key": w.idempotency_key,
                    "broker_order_id": w.broker_order_id,
                }
                for w in in_flight[:MAX_LISTED]
            ],
            separators=(",", ":"),
        )
    if error:
        detail["writer_error"] = error[:500]
    return detail
