"""The instance roles (W, R, ABH): which credentials a host holds and what its probe must prove."""

from __future__ import annotations

import enum


class Role(enum.Enum):
    """The instance role: which credentials this host holds and what the probe must prove."""

    W = "W"
    R = "R"
    ABH = "ABH"

    @property
    def may_trade(self) -> bool:
        return self is Role.W
