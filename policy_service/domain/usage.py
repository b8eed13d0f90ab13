"""What an account has used, read in the pending transaction under the account's lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Exposure:
    """One of livegate's orders still able to trade: pending, working, or ended after the
    broker's account state was read (so the state may not show its fills yet)."""

    key: str
    con_id: int
    buy: Decimal
    sell: Decimal
    notional: Decimal

    @classmethod
    def working(
        cls, key: str, con_id: int, buy: Decimal, sell: Decimal, notional: Decimal, filled: Decimal
    ) -> Exposure:
        """A single order of which FILLED has filled already (the account state shows it):
        what it can still add, and that share of its notional."""
        total = buy + sell
        if filled <= 0 or total <= 0:
            return cls(key, con_id, buy, sell, notional)
        left = max(Decimal(0), total - filled)
        return cls(key, con_id, min(buy, left), min(sell, left), notional * left / total)


@dataclass(frozen=True)
class Duplicate:
    key: str
    created_at_us: int


@dataclass(frozen=True)
class Stop:
    reason: str
    stopped_at_us: int


@dataclass(frozen=True)
class UsageQuery:
    """The reads a decision needs beyond rate, open orders and daily notional (each skipped
    when its limit is off): a stop of the principal, an earlier twin, exposure, the day's
    order messages and executions."""

    principal: str = ""
    fingerprint: str = ""
    duplicate_since_us: int = 0
    exposure_since_us: int | None = None
    efficiency: bool = False


@dataclass(frozen=True)
class Usage:
    orders_last_minute: int
    open_orders: int
    daily_notional: Decimal
    exposure: tuple[Exposure, ...] = field(default_factory=tuple)
    duplicate: Duplicate | None = None
    messages_today: int = 0
    executed_today: int = 0
    stop: Stop | None = None
