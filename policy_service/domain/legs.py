"""One order as the limits see it: the order, its reference data, and the limits it trades under."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from policy_service.domain import model as m
from policy_service.domain.model import OrderSpec, OrderType
from policy_service.domain.reference import ContractDetails, Margin


@dataclass(frozen=True)
class Leg:
    """An order with the reference price and its age, the broker's contract details (None when
    they could not be had: DETAILS_ERROR says why), and the limits resolved for it."""

    order: OrderSpec
    reference_price: Decimal | None
    reference_age_s: Decimal
    details: ContractDetails | None = None
    details_error: str = ""
    now_us: int = 0
    # MARKET when the order was a market order turned into a collared limit at preview.
    requested_type: OrderType | None = None
    margin: Margin | None = None
    margin_error: str = ""
    intended_duplicate: bool = False
    # A modify: only its increase over the order it replaces adds to the position (None: the
    # whole order adds).
    adds_quantity: Decimal | None = None

    @property
    def multiplier(self) -> Decimal:
        return self.details.multiplier if self.details is not None else Decimal(1)

    @property
    def order_type(self) -> OrderType:
        return self.requested_type or self.order.order_type

    @property
    def notional(self) -> Decimal:
        """Quantity x price x multiplier (the limit, else the stop, else the reference)."""
        price = self.order.price_for_notional(self.reference_price) or Decimal(0)
        return self.order.quantity * price * self.multiplier


def from_preview(preview: m.Preview, now_us: int) -> Leg:
    """The leg a persisted preview checks as at NOW_US (its reference data as recorded)."""
    age = Decimal(max(0, now_us - preview.reference_as_of_us)) / Decimal(1_000_000)
    adds: Decimal | None = None
    if preview.leg in (m.Leg.TAKE_PROFIT, m.Leg.STOP_LOSS):
        adds = Decimal(0)  # a bracket's exits only close what its entry opens
    elif preview.kind is m.Kind.MODIFY and preview.replaced_quantity is not None:
        adds = max(Decimal(0), preview.order.quantity - preview.replaced_quantity)
    return Leg(
        preview.order,
        preview.reference_price,
        age,
        details=preview.details,
        details_error=preview.details_error,
        now_us=now_us,
        requested_type=preview.requested_type,
        margin=preview.margin,
        margin_error=preview.margin_error,
        intended_duplicate=preview.intended_duplicate,
        adds_quantity=adds,
    )
