"""The simulator's reference data: contracts with ticks, hours and multipliers, rules, holdings."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from gateway_sim.contracts import derivative
from gateway_sim.core import SimCore
from gateway_sim.market import ContractInfo

T = TypeVar("T")


class ReferenceApi:
    """Mixed into GatewaySimulator; every method runs on the simulator's loop (thread-safe)."""

    _core: SimCore

    def _call(self, fn: Callable[[], T]) -> T:
        raise NotImplementedError

    def set_stock_details(self, symbol: str, **details: Any) -> ContractInfo:
        """Change what contract details say about a stock: min_tick, market_rule_id,
        trading_hours / liquid_hours (IB's strings; None: always open), time_zone, ..."""
        contracts = self._core.engine.contracts

        def apply() -> ContractInfo:
            info = dataclasses.replace(contracts.stock(symbol), **details)
            return contracts.define(info)

        return self._call(apply)

    def add_future(self, symbol: str, expiry: str, multiplier: str, **details: Any) -> str:
        """Define a future (e.g. ES, 20261218, 50); returns its local symbol, the key of its
        quote (set_quote) and position (set_position)."""
        info = derivative(symbol, "FUT", expiry, multiplier, **details)
        return self._call(lambda: self._core.engine.contracts.define(info)).local_symbol

    def add_option(
        self,
        symbol: str,
        expiry: str,
        strike: Decimal,
        right: str,
        multiplier: str = "100",
        **details: Any,
    ) -> str:
        """Define an option (right "C" or "P"); returns its local symbol, as add_future."""
        info = derivative(
            symbol, "OPT", expiry, multiplier, strike=Decimal(strike), right=right, **details
        )
        return self._call(lambda: self._core.engine.contracts.define(info)).local_symbol

    def set_market_rule(self, rule_id: int, increments: Sequence[tuple[str, str]]) -> None:
        """Define a market rule: (low edge, increment) pairs from the lowest price up."""
        rule = tuple((Decimal(low), Decimal(step)) for low, step in increments)
        self._call(lambda: self._core.engine.contracts.rules.__setitem__(rule_id, rule))
