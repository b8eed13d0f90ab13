"""Version-neutral outbound events the engine produces and sessions encode."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gateway_sim.models import SimExecution, SimOrder


@dataclass(frozen=True)
class WhatIfState:
    """Margin and commission impact reported for a what-if order."""

    init_margin_before: Decimal
    maint_margin_before: Decimal
    equity_with_loan_before: Decimal
    init_margin_change: Decimal
    maint_margin_change: Decimal
    equity_with_loan_change: Decimal
    init_margin_after: Decimal
    maint_margin_after: Decimal
    equity_with_loan_after: Decimal
    commission: Decimal
    min_commission: Decimal
    max_commission: Decimal
    commission_currency: str = "USD"
    status: str = "PreSubmitted"


@dataclass(frozen=True)
class StatusOut:
    client_id: int
    order: SimOrder


@dataclass(frozen=True)
class OpenOrderOut:
    client_id: int
    order: SimOrder
    what_if: WhatIfState | None = None


@dataclass(frozen=True)
class ExecOut:
    client_id: int
    execution: SimExecution
    order: SimOrder
    req_id: int = -1


@dataclass(frozen=True)
class CommissionOut:
    client_id: int
    execution: SimExecution


@dataclass(frozen=True)
class ErrorOut:
    client_id: int
    req_id: int
    code: int
    message: str


Event = StatusOut | OpenOrderOut | ExecOut | CommissionOut | ErrorOut
