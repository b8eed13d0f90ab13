"""The writer's switch in REDUCING: which write may reach the broker, judged before it is sent.

Cancels pass. Brackets never do (their entry opens a position). A submit or a modify passes only
where livegate_common.reduce_only says REDUCES against the position the broker reports for the
account and instrument, counting every order of the same side still working there, whoever
placed it (livegate, TWS by hand, another program: each could fill), a modify's own order aside
(its new quantity is the one judged). No position or open-orders answer: refused, UNJUDGED.
The caller holds the account's write slot from this check to the send, so two writes that each
reduce but together cross cannot both pass.

A write the guard cleared is marked in its context (a contextvar, as in_flight does): the send
(LiveOrderWriter._admit) refuses any write in REDUCING that was not cleared, such as one that
began while the switch was still OPEN.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Protocol

from livegate_common.reduce_only import ReduceVerdict, judge
from writer_service import errors
from writer_service.orders import InstrumentSpec, OrderSpec, Side

_ZERO: Final = Decimal(0)
_cleared: contextvars.ContextVar[bool] = contextvars.ContextVar("reducing_cleared", default=False)


@dataclass(frozen=True)
class Exposure:
    """What the broker holds of one instrument in one account, as the writer reads it."""

    position: Decimal  # signed: long > 0
    # Every order of the judged side still working, whoever placed it; unsigned.
    working_same_side: Decimal


class PositionUnknown(Exception):
    """The broker's positions for the account are not known now (no answer, session down)."""


class ExposureBook(Protocol):
    async def exposure(
        self, account: str, instrument: InstrumentSpec, side: Side, exclude_order_id: int | None
    ) -> Exposure:
        """Fresh from the broker; raises PositionUnknown when it cannot say."""
        ...


def cleared() -> bool:
    """The current write was cleared by the guard (a cancel, or an order judged REDUCES)."""
    return _cleared.get()


def clear_cancel() -> None:
    """A cancel only takes risk off: it passes a REDUCING switch."""
    _cleared.set(True)


class ReducingGuard:
    def __init__(self, book: ExposureBook, account_hash: Callable[[str], str]):
        self._book = book
        self._account_hash = account_hash

    async def clear_order(
        self,
        account: str,
        spec: OrderSpec,
        *,
        modifying: int | None = None,
        already_filled: Decimal = _ZERO,
    ) -> None:
        """Clear SPEC for sending, or raise the refusal with the numbers that decided it.

        For a modify, MODIFYING is the order's id and ALREADY_FILLED its filled quantity: what
        can still change the position is the new quantity less what already filled.
        """
        quantity = spec.quantity - already_filled
        if quantity <= _ZERO:
            _cleared.set(True)  # nothing of it can fill any more
            return
        numbers: dict[str, object] = {
            "account_id_hash": self._account_hash(account),
            "symbol": spec.instrument.symbol,
            "side": spec.side.value,
            "quantity": _text(quantity),
        }
        if modifying is not None:
            numbers["broker_order_id"] = modifying
        try:
            held = await self._book.exposure(account, spec.instrument, spec.side, modifying)
        except PositionUnknown as exc:
            raise errors.kill_switch_reducing_unjudged(str(exc), **numbers) from None
        verdict = judge(held.position, spec.side.value, quantity, held.working_same_side)
        if verdict is ReduceVerdict.REDUCES:
            _cleared.set(True)
            return
        raise errors.kill_switch_reducing_refused(
            verdict.value,
            **numbers,
            position=_text(held.position),
            working_same_side=_text(held.working_same_side),
        )


def _text(number: Decimal) -> str:
    """A plain decimal for the metadata ("100", not "100.0" as IB's floats convert)."""
    return format(number.normalize(), "f")
