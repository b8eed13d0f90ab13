"""Configuration of the gateway simulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gateway_sim.faults import READ_ONLY_REFUSES

# ib_async 2.1.0 speaks 157..178; the simulator refuses anything it cannot encode for.
MIN_SERVER_VERSION = 157
MAX_SERVER_VERSION = 178


@dataclass(frozen=True)
class QuoteSpec:
    """A starting quote for one symbol."""

    symbol: str
    bid: Decimal
    ask: Decimal
    last: Decimal


@dataclass(frozen=True)
class SimConfig:
    """Everything needed to start a simulator; immutable so restarts reuse it safely."""

    accounts: tuple[str, ...] = ("U1234567",)
    read_only: bool = False
    max_server_version: int = MAX_SERVER_VERSION
    host: str = "127.0.0.1"
    port: int = 0
    what_if_refused_in_read_only: bool = True
    # What a read-only gateway refuses (faults.READ_ONLY_REFUSES); None: derived from
    # what_if_refused_in_read_only ("queries_refused" or "what_if_allowed").
    read_only_flavor: str | None = None
    quotes: tuple[QuoteSpec, ...] = field(default_factory=tuple)
    starting_cash: Decimal = Decimal("100000")

    def __post_init__(self) -> None:
        if not self.accounts:
            raise ValueError("at least one account is required")
        for account in self.accounts:
            if not (account.startswith("U") or account.startswith("DU")):
                raise ValueError(f"account {account!r} must start with U (live) or DU (paper)")
        if self.read_only_flavor is not None and self.read_only_flavor not in READ_ONLY_REFUSES:
            raise ValueError(f"read_only_flavor must be one of {sorted(READ_ONLY_REFUSES)}")
        if not MIN_SERVER_VERSION <= self.max_server_version <= MAX_SERVER_VERSION:
            raise ValueError(
                f"max_server_version must be within {MIN_SERVER_VERSION}..{MAX_SERVER_VERSION}"
            )

    @property
    def flavor(self) -> str:
        """The read-only flavor this configuration starts with."""
        if self.read_only_flavor is not None:
            return self.read_only_flavor
        return "queries_refused" if self.what_if_refused_in_read_only else "what_if_allowed"
