"""Unit tests of the shared reduce-only rule (livegate_common/reduce_only.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livegate_common.reduce_only import ReduceVerdict, judge

D = Decimal


@pytest.mark.parametrize(
    ("position", "side", "quantity", "working", "verdict"),
    [
        (D(100), "SELL", D(40), D(0), ReduceVerdict.REDUCES),
        (D(100), "SELL", D(100), D(0), ReduceVerdict.REDUCES),
        (D(100), "SELL", D(101), D(0), ReduceVerdict.CROSSES_ZERO),
        (D(100), "BUY", D(1), D(0), ReduceVerdict.INCREASES),
        (D(-50), "BUY", D(50), D(0), ReduceVerdict.REDUCES),
        (D(-50), "BUY", D("50.5"), D(0), ReduceVerdict.CROSSES_ZERO),
        (D(-50), "SELL", D(1), D(0), ReduceVerdict.INCREASES),
        (D(0), "SELL", D(1), D(0), ReduceVerdict.INCREASES),
        (D(0), "BUY", D(1), D(0), ReduceVerdict.INCREASES),
        # Working orders on the same side count as filled.
        (D(100), "SELL", D(60), D(60), ReduceVerdict.CROSSES_ZERO),
        (D(100), "SELL", D(40), D(60), ReduceVerdict.REDUCES),
        (D(-10), "BUY", D(5), D(6), ReduceVerdict.CROSSES_ZERO),
        # Fractional quantities stay exact.
        (D("0.3"), "SELL", D("0.1"), D("0.2"), ReduceVerdict.REDUCES),
    ],
)
def test_judge_when_position_and_order_then_verdict(
    position: Decimal, side: str, quantity: Decimal, working: Decimal, verdict: ReduceVerdict
) -> None:
    assert judge(position, side, quantity, working) is verdict


@pytest.mark.parametrize(
    ("side", "quantity", "working"),
    [("HOLD", D(1), D(0)), ("SELL", D(0), D(0)), ("SELL", D(-1), D(0)), ("SELL", D(1), D(-1))],
)
def test_judge_when_input_is_malformed_then_raises(
    side: str, quantity: Decimal, working: Decimal
) -> None:
    with pytest.raises(ValueError):
        judge(D(10), side, quantity, working)
