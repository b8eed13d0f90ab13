"""Step 6 in a REDUCING scope: does this write only reduce the account's position?

Cancels pass (they only reduce risk) and brackets are refused (their entry opens a position).
A new order or a modify is judged by livegate_common.reduce_only against the account's
position in the instrument, read from the broker through the writer at that moment (never a
cache: the order just placed must count) and no older than
kill_switch.reducing_position_max_age_s. Every order working at the broker on the same side
for the account and instrument counts as filled, whoever placed it: livegate, TWS by hand or
another program (the writer's account state asks the broker for all open orders), a modify's
own order excluded (its new quantity is the one judged). The writer reports the contract id of
a working order as the broker's open order carries it, which for livegate's own orders is 0
(sent unqualified): those are placed by the contract id their idempotency key (the orderRef)
recorded, and one that cannot be placed counts as working on the instrument (the stricter
guess). Anything that cannot be read is a refusal, never a pass.

The write's order is known only once step 8 loaded its preview, so the judgement runs after
it, reported as step 6 as the preview creators' stops are. It runs again inside step 10's
pending transaction, under the account's lock, adding to the broker's count livegate's own
orders in flight as the store records them: two sells judged at the same moment (on one
replica or several) each see the other there, though neither is at the broker yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from livegate_common.reduce_only import ReduceVerdict, judge
from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.commands import BracketCmd, CancelCmd, Command, ModifyCmd
from policy_service.domain.legs import Leg
from policy_service.domain.ports import Clock, Store, StoreUnavailable, Writer, WriterError
from policy_service.domain.reference import AccountState, WorkingOrder
from policy_service.domain.scopes import CODE, STEP, ScopedStop, reducing_bracket
from policy_service.domain.usage import Exposure

_MICROS: Final = Decimal(1_000_000)
_REFUSALS: Final = {
    ReduceVerdict.INCREASES: (reasons.SCOPE_REDUCING_INCREASES, "would add to the position"),
    ReduceVerdict.CROSSES_ZERO: (
        reasons.SCOPE_REDUCING_CROSSES_ZERO,
        "would take the position past zero (the same-side orders working counted as filled)",
    ),
}


@dataclass(frozen=True)
class Judged:
    """What a judgement used: the numbers every refusal carries."""

    position: Decimal
    side: str
    quantity: Decimal
    working: Decimal
    verdict: ReduceVerdict

    def metadata(self) -> dict[str, str]:
        return {
            "position": str(self.position),
            "side": self.side,
            "quantity": str(self.quantity),
            "working": str(self.working),
        }


def working_same_side(
    state: AccountState,
    con_id: int,
    side: str,
    exclude_order: int | None,
    key_con_ids: Mapping[str, int],
) -> Decimal:
    """The quantity of same_side_orders."""
    return sum(
        (w.remaining for w in same_side_orders(state, con_id, side, exclude_order, key_con_ids)),
        Decimal(0),
    )


def same_side_orders(
    state: AccountState,
    con_id: int,
    side: str,
    exclude_order: int | None,
    key_con_ids: Mapping[str, int],
) -> list[WorkingOrder]:
    """What the broker has working on SIDE of CON_ID for the account, whoever placed it
    (livegate, TWS by hand, another program: each could fill), the order EXCLUDE_ORDER left
    out. KEY_CON_IDS: the contract id livegate recorded per orderRef, for orders the broker
    reports without one."""

    def on_instrument(w: WorkingOrder) -> bool:
        placed = w.con_id or (key_con_ids.get(w.order_ref, 0) if w.order_ref else 0)
        return placed in (con_id, 0)  # 0: not placeable, counted (stricter)

    def modified(w: WorkingOrder) -> bool:
        # Only livegate's own orders are modified through it; an order of another client may
        # carry the same id (each client numbers its own), and still counts.
        return bool(w.order_ref) and w.broker_order_id == exclude_order

    return [
        w for w in state.working if w.action.value == side and not modified(w) and on_instrument(w)
    ]


def judged(
    state: AccountState,
    leg: Leg,
    con_id: int,
    exclude_order: int | None,
    key_con_ids: Mapping[str, int],
) -> Judged:
    side = leg.order.action.value
    position = state.position(con_id)
    working = working_same_side(state, con_id, side, exclude_order, key_con_ids)
    quantity = leg.order.quantity
    return Judged(position, side, quantity, working, judge(position, side, quantity, working))


@dataclass(frozen=True)
class Held:
    """A write that passed the REDUCING judgement before the pending row: what step 10 judges
    again under the account's lock, with livegate's own orders in flight or working as the
    store knows them (two writes judged at once would not see each other at the broker).

    broker_working is every same-side order the broker reported working on the instrument,
    whoever placed it; broker_refs their orderRefs, so that a store row already counted there
    is not counted twice and one not at the broker yet (in flight) is added."""

    stop: ScopedStop
    con_id: int
    side: str
    quantity: Decimal
    position: Decimal
    broker_working: Decimal
    # The modified order's key (its orderRef): its old quantity is replaced, not added.
    exclude_keys: frozenset[str]
    asked_at_us: int
    broker_refs: frozenset[str] = frozenset()

    def denial(self, exposure: Sequence[Exposure]) -> m.Denial | None:
        """Step 10's repeat: every same-side order the broker reported (hand-placed ones too),
        plus livegate's same-side orders on the instrument the store holds that the broker did
        not report (in flight), this write's own pending row left out by the store. Not the
        larger of the two counts: a hand-placed order in the broker's count would hide a
        pending row of livegate's from it."""
        unreported = sum(
            (
                row.sell if self.side == "SELL" else row.buy
                for row in exposure
                if row.con_id == self.con_id
                and row.key not in self.exclude_keys
                and row.key not in self.broker_refs
            ),
            Decimal(0),
        )
        working = self.broker_working + unreported
        verdict = judge(self.position, self.side, self.quantity, working)
        found = Judged(self.position, self.side, self.quantity, working, verdict)
        return _refusal(self.stop, found)


class Reducing:
    def __init__(self, store: Store, writer: Writer, clock: Clock, max_age_us: int):
        self._store = store
        self._writer = writer
        self._clock = clock
        self._max_age_us = max_age_us

    def denial(self, cmd: Command, legs: list[Leg], stops: list[ScopedStop]) -> m.Denial | None:
        """Why CMD may not pass the REDUCING scopes STOPS (the first named), or None."""
        found = self.check(cmd, legs, stops)
        return found if isinstance(found, m.Denial) else None

    def check(
        self, cmd: Command, legs: list[Leg], stops: list[ScopedStop]
    ) -> m.Denial | Held | None:
        """Step 6 in REDUCING scopes: a refusal, what step 10 judges again (Held), or None when
        no REDUCING scope applies (or the write is a cancel)."""
        if not stops or isinstance(cmd, CancelCmd):
            return None
        stop = stops[0]
        if isinstance(cmd, BracketCmd):
            return reducing_bracket(stop)
        leg = legs[0] if legs else None
        if leg is None or leg.details is None:
            why = leg.details_error if leg is not None else "no order"
            return _stale(stop, f"the instrument's contract id is unknown ({why})")
        asked_at = self._clock.now_us()
        try:
            state = self._writer.account_state(cmd.account_id)
        except WriterError as err:
            return _stale(stop, f"positions unreadable: {err.message}", writer=err.reason)
        age_us = self._clock.now_us() - state.as_of_us
        if age_us > self._max_age_us:
            return _stale(stop, "positions older than allowed", age_us, self._max_age_us)
        exclude = cmd.broker_order_id if isinstance(cmd, ModifyCmd) else None
        unplaced = [w.order_ref for w in state.working if w.order_ref and not w.con_id]
        try:
            placed = self._store.key_con_ids(unplaced)
        except StoreUnavailable:
            return _stale(stop, "livegate's working orders could not be placed (storage)")
        con_id = leg.details.con_id
        found = judged(state, leg, con_id, exclude, placed)
        refused = _refusal(stop, found)
        if refused is not None:
            return refused
        modified = frozenset(
            w.order_ref for w in state.working if w.broker_order_id == exclude and w.order_ref
        )
        counted = same_side_orders(state, con_id, found.side, exclude, placed)
        refs = frozenset(w.order_ref for w in counted if w.order_ref)
        return Held(stop, con_id, found.side, found.quantity, found.position, found.working,
                    modified, asked_at, refs)  # fmt: skip


def _refusal(stop: ScopedStop, found: Judged) -> m.Denial | None:
    if found.verdict is ReduceVerdict.REDUCES:
        return None
    reason, why = _REFUSALS[found.verdict]
    return m.Denial(
        reason,
        CODE,
        STEP,
        f"the {stop.kind.value.lower()} scope only reduces positions: {found.side} "
        f"{found.quantity} {why} (position={found.position}, quantity={found.quantity}, "
        f"working={found.working})",
        {**_scope(stop), **found.metadata()},
    )


def _scope(stop: ScopedStop) -> dict[str, str]:
    return {"scope_kind": stop.kind.value, "scope": stop.key, "version": str(stop.version)}


def _stale(
    stop: ScopedStop, why: str, age_us: int = 0, max_age_us: int = 0, writer: str = ""
) -> m.Denial:
    meta = {**_scope(stop), "why": why}
    if max_age_us:
        meta["age_s"] = str((Decimal(age_us) / _MICROS).quantize(Decimal("0.001")))
        meta["max_age_s"] = str(Decimal(max_age_us) / _MICROS)
        why = f"{why} (age_s={meta['age_s']}, max_age_s={meta['max_age_s']})"
    if writer:
        meta["writer_reason"] = writer
    return m.Denial(
        reasons.SCOPE_REDUCING_POSITION_STALE,
        CODE,
        STEP,
        f"the {stop.kind.value.lower()} scope only reduces positions, and the position to "
        f"judge against could not be had: {why}",
        meta,
    )
