"""Suspected duplicates: the same order again, soon, under another idempotency key."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from livegate_common.metrics import observe_use
from policy_service import reasons
from policy_service.domain.legs import Leg
from policy_service.domain.model import Denial
from policy_service.domain.usage import Duplicate


def fingerprint(account_hash: str, leg: Leg) -> str:
    """Account, instrument (the broker's contract id when known), side, quantity and prices."""
    order = leg.order
    ins = order.instrument
    contract = str(leg.details.con_id) if leg.details is not None else ""
    parts = (
        account_hash,
        contract,
        ins.symbol,
        ins.sec_type.value,
        ins.expiry,
        str(ins.strike or ""),
        ins.right.value if ins.right else "",
        order.action.value,
        _plain(order.quantity),
        leg.order_type.value,
        _plain(order.limit_price),
        _plain(order.stop_price),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _plain(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def duplicate_denial(window_s: Decimal, found: Duplicate | None, now_us: int) -> Denial | None:
    if found is None:
        return None
    age_s = Decimal(max(0, now_us - found.created_at_us)) / Decimal(1_000_000)
    observe_use("duplicate_window_s", window_s, age_s or Decimal("0.000001"))
    return Denial(
        reasons.DUPLICATE_ORDER_SUSPECTED,
        "FAILED_PRECONDITION",
        9,
        f"the same order went out {age_s}s ago under another key; mark the preview "
        "intended_duplicate if it is meant",
        {
            "window_s": str(window_s),
            "age_s": str(age_s.quantize(Decimal("0.001"))),
            "duplicate_of": found.key,
        },
    )
