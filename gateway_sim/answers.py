"""Late and lost answers: per kind of request, delay or swallow everything the gateway replies."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from gateway_sim.faults import ANSWER_KINDS
from gateway_sim.protocol import parse_bool, parse_int
from gateway_sim.wire_in import UnsupportedOrderError, parse_place_order

if TYPE_CHECKING:
    from gateway_sim.session import Session

log = logging.getLogger("gateway_sim")
MAX_DELAY_S: Final = 60.0
# Incoming message id -> the kind of its answer (placeOrder is decided by its content).
KIND_OF_MSG: Final[dict[int, str]] = {
    1: "quote",  # reqMktData (reqTickers)
    9: "quote",  # reqContractDetails (qualifyContracts, before a quote)
    4: "cancel_ack",
    58: "cancel_ack",  # reqGlobalCancel
    5: "open_orders",
    15: "open_orders",
    16: "open_orders",
    99: "completed_orders",
    7: "executions",
}


@dataclass
class Answer:
    """Everything sent while one request is handled, held back until it is due (or dropped)."""

    kind: str
    delay: float
    dropped: bool
    frames: list[tuple[Session, bytes]] = field(default_factory=list)


class Answers:
    """Per-kind delays and drops; only touched from the simulator's loop."""

    def __init__(self) -> None:
        self.delays: dict[str, float] = {}
        self.drops: dict[str, int] = {}
        self.current: Answer | None = None

    def set_delay(self, kind: str, seconds: float) -> None:
        _check_kind(kind)
        if not 0 <= seconds <= MAX_DELAY_S:
            raise ValueError(f"delay must be within 0..{MAX_DELAY_S:g} seconds")
        if seconds:
            self.delays[kind] = seconds
        else:
            self.delays.pop(kind, None)

    def set_drop(self, kind: str, count: int) -> None:
        _check_kind(kind)
        if count < 0:
            raise ValueError("count must be >= 0")
        if count:
            self.drops[kind] = count
        else:
            self.drops.pop(kind, None)

    def clear(self) -> None:
        self.delays.clear()
        self.drops.clear()

    def open(self, session: Session, msg_id: int, fields: list[str]) -> Answer | None:
        """Start capturing the answer to this request if a delay or drop applies to it."""
        if not self.delays and not self.drops:
            return None
        kind = _kind(session, msg_id, fields)
        delay = max(self.delays.get(kind, 0.0), self.delays.get("any", 0.0))
        dropped = self._take_drop(kind) or self._take_drop("any")
        if not dropped and delay <= 0:
            return None
        self.current = Answer(kind, delay, dropped)
        return self.current

    def close(self, answer: Answer) -> None:
        self.current = None
        if answer.dropped:
            log.info("dropped a %s answer (%d frames)", answer.kind, len(answer.frames))
            return
        asyncio.get_running_loop().call_later(answer.delay, _release, answer.frames)

    def _take_drop(self, kind: str) -> bool:
        left = self.drops.get(kind, 0)
        if not left:
            return False
        self.set_drop(kind, left - 1)
        return True


def _release(frames: list[tuple[Session, bytes]]) -> None:
    for session, frame in frames:
        if not session.closing:
            session.enqueue(frame)


def _check_kind(kind: str) -> None:
    if kind not in ANSWER_KINDS:
        raise ValueError(f"kind must be one of {sorted(ANSWER_KINDS)}")


def _kind(session: Session, msg_id: int, fields: list[str]) -> str:
    if msg_id != 3:
        return KIND_OF_MSG.get(msg_id, "other")
    try:
        parsed = parse_place_order(fields, session.version)
    except (UnsupportedOrderError, ValueError, IndexError):
        return "place_ack"
    if parse_bool(parsed["what_if"]):
        return "what_if"
    existing = session.core.engine.orders.get((session.client_id or 0, parse_int(fields[1])))
    return "modify_ack" if existing is not None and not existing.is_done else "place_ack"
