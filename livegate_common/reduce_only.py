"""The reduce-only rule shared by the policy (scoped and global REDUCING) and the writer (its
own switch in REDUCING): may an order of SIDE and QUANTITY go to an account that holds POSITION
of the instrument?

An order passes only where it brings the position nearer zero without crossing it. Orders of the
same side already working at the broker count as if filled, since each could fill: two sells of
60 against a long 100 would flip the position together though each alone reduces it. A position
of zero has nothing to reduce, so every order there increases.

Sides are the strings "BUY" and "SELL" (both services' enums are StrEnum or carry the name), so
the rule needs neither service's model.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Final

_ZERO: Final = Decimal(0)


class ReduceVerdict(enum.Enum):
    REDUCES = "REDUCES"
    # Adds to the position, or opens one from flat.
    INCREASES = "INCREASES"
    # Reduces, but past zero: the position would change sign.
    CROSSES_ZERO = "CROSSES_ZERO"


def judge(
    position: Decimal, side: str, quantity: Decimal, working_same_side: Decimal = _ZERO
) -> ReduceVerdict:
    """POSITION is signed (long > 0); QUANTITY and WORKING_SAME_SIDE are unsigned, the latter the
    quantity still working at the broker on SIDE for the same account and instrument (for a
    modify, the other orders only: the modified order's new quantity is QUANTITY)."""
    if side not in ("BUY", "SELL"):
        raise ValueError(f"side must be BUY or SELL, not {side!r}")
    if quantity <= _ZERO or working_same_side < _ZERO:
        raise ValueError("quantity must be positive and working_same_side not negative")
    reducing_side = "SELL" if position > _ZERO else "BUY"
    if position == _ZERO or side != reducing_side:
        return ReduceVerdict.INCREASES
    if quantity + working_same_side > abs(position):
        return ReduceVerdict.CROSSES_ZERO
    return ReduceVerdict.REDUCES
