"""The versioned risk policy: its limits, read from YAML once at start, Decimals throughout."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from policy_service.domain import instrument_policy as ip
from policy_service.domain.instrument_policy import InstrumentLimits, PolicyKeyError
from policy_service.domain.model import Instrument, OrderType, SecType


class RiskPolicyError(ValueError):
    """The risk policy file is missing or invalid; the message names the key."""

    def __init__(self, key: str, message: str):
        super().__init__(f"risk policy key {key}: {message}")
        self.key = key


@dataclass(frozen=True)
class RiskPolicy:
    policy_id: str
    version: int
    max_quantity: Decimal
    max_notional_per_order: Decimal
    price_collar_bps: Decimal
    max_reference_age_s: Decimal
    allowed_sec_types: frozenset[SecType]
    allowed_symbols: frozenset[str]  # stocks and ETFs at the global limits; empty = none
    max_orders_per_minute: int
    max_open_orders: int
    max_daily_notional: Decimal
    # Since issue 19; each is off (None) or at its documented default when the file omits it,
    # and canonical() names it only when set, so older policies keep their digest.
    allowed_order_types: frozenset[OrderType] = ip.DEFAULT_ORDER_TYPES
    allow_outside_rth: bool = False
    max_net_position: Decimal | None = None
    max_gross_position: Decimal | None = None
    instruments: Mapping[tuple[str, SecType], InstrumentLimits] = field(default_factory=dict)
    # Per account: market value of positions plus livegate's working orders (base currency).
    max_gross_exposure: Decimal | None = None
    # Per account: excess liquidity after the order, from the broker's what-if at preview.
    min_excess_liquidity: Decimal | None = None
    # The same order (account, instrument, side, quantity, price) again within this many
    # seconds under another key is refused unless its preview says it is intended.
    duplicate_window_s: Decimal | None = None
    # This many fills of one instrument within runaway_window_s stop the principal.
    runaway_max_fills: int | None = None
    runaway_window_s: Decimal = Decimal(60)
    # IBKR's order efficiency ratio: the day's order messages per executed order, per account.
    max_order_efficiency_ratio: Decimal | None = None
    oer_min_orders: int = 20
    # How old broker reference data may be when a write is checked.
    max_contract_details_age_s: Decimal = Decimal(86400)
    max_account_state_age_s: Decimal = Decimal(5)

    def limits_for(self, instrument: Instrument) -> InstrumentLimits | None:
        """The limits INSTRUMENT trades under, or None when the policy does not allow it."""
        return ip.resolve(instrument, self.instruments, self.allowed_symbols, self.defaults())

    def defaults(self) -> InstrumentLimits:
        return InstrumentLimits(
            symbol="",
            sec_type=SecType.STOCK,
            max_quantity=self.max_quantity,
            max_notional_per_order=self.max_notional_per_order,
            price_collar_bps=self.price_collar_bps,
            allowed_order_types=self.allowed_order_types,
            allow_outside_rth=self.allow_outside_rth,
            max_net_position=self.max_net_position,
            max_gross_position=self.max_gross_position,
        )

    @property
    def positions_limited(self) -> bool:
        """Whether a write needs the broker's account state (positions, exposure)."""
        return (
            self.max_gross_exposure is not None
            or self.max_net_position is not None
            or self.max_gross_position is not None
            or any(
                i.max_net_position is not None or i.max_gross_position is not None
                for i in self.instruments.values()
            )
        )

    def canonical(self) -> dict[str, Any]:
        body = self._canonical_base()
        optional: dict[str, Any] = {
            "allowed_order_types": None
            if self.allowed_order_types == ip.DEFAULT_ORDER_TYPES
            else sorted(t.value for t in self.allowed_order_types),
            "allow_outside_rth": self.allow_outside_rth or None,
            "instruments": [self.instruments[k].canonical() for k in sorted(self.instruments)]
            or None,
            "runaway_window_s": None
            if self.runaway_window_s == Decimal(60)
            else str(self.runaway_window_s),
            "oer_min_orders": None if self.oer_min_orders == 20 else self.oer_min_orders,
            "max_contract_details_age_s": None
            if self.max_contract_details_age_s == Decimal(86400)
            else str(self.max_contract_details_age_s),
            "max_account_state_age_s": None
            if self.max_account_state_age_s == Decimal(5)
            else str(self.max_account_state_age_s),
        }
        for name in _OPTIONAL_NUMBERS:
            value = getattr(self, name)
            optional[name] = None if value is None else str(value)
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def _canonical_base(self) -> dict[str, Any]:
        return {
            "id": self.policy_id,
            "version": self.version,
            "max_quantity": str(self.max_quantity),
            "max_notional_per_order": str(self.max_notional_per_order),
            "price_collar_bps": str(self.price_collar_bps),
            "max_reference_age_s": str(self.max_reference_age_s),
            "allowed_sec_types": sorted(s.value for s in self.allowed_sec_types),
            "allowed_symbols": sorted(self.allowed_symbols),
            "max_orders_per_minute": self.max_orders_per_minute,
            "max_open_orders": self.max_open_orders,
            "max_daily_notional": str(self.max_daily_notional),
        }

    def digest(self) -> str:
        body = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


def _positive_decimal(doc: Mapping[str, Any], key: str) -> Decimal:
    if key not in doc or doc[key] is None or isinstance(doc[key], bool):
        raise RiskPolicyError(key, "is required")
    try:
        value = Decimal(str(doc[key]))
    except InvalidOperation as exc:
        raise RiskPolicyError(key, f"must be a decimal, got {doc[key]!r}") from exc
    if not value.is_finite() or value <= 0:
        raise RiskPolicyError(key, f"must be > 0, got {value}")
    return value


def _positive_int(doc: Mapping[str, Any], key: str) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise RiskPolicyError(key, f"must be an integer > 0, got {value!r}")
    return value


def from_mapping(doc: Mapping[str, Any]) -> RiskPolicy:
    policy_id = doc.get("id")
    if not isinstance(policy_id, str) or not policy_id.strip():
        raise RiskPolicyError("id", "must be a non-empty string")
    limits = doc.get("limits", doc)
    if not isinstance(limits, Mapping):
        raise RiskPolicyError("limits", "must be a mapping")
    raw_types = limits.get("allowed_sec_types") or []
    try:
        sec_types = frozenset(SecType(str(s).upper()) for s in raw_types)
    except ValueError as exc:
        raise RiskPolicyError("allowed_sec_types", f"unknown sec type in {raw_types}") from exc
    if not sec_types:
        raise RiskPolicyError("allowed_sec_types", "must list at least one sec type")
    symbols = limits.get("allowed_symbols") or []
    if not isinstance(symbols, list):
        raise RiskPolicyError("allowed_symbols", "must be a list (empty = none)")
    base = RiskPolicy(
        policy_id=policy_id,
        version=_positive_int(doc, "version"),
        max_quantity=_positive_decimal(limits, "max_quantity"),
        max_notional_per_order=_positive_decimal(limits, "max_notional_per_order"),
        price_collar_bps=_positive_decimal(limits, "price_collar_bps"),
        max_reference_age_s=_positive_decimal(limits, "max_reference_age_s"),
        allowed_sec_types=sec_types,
        allowed_symbols=frozenset(str(s).upper() for s in symbols),
        max_orders_per_minute=_positive_int(limits, "max_orders_per_minute"),
        max_open_orders=_positive_int(limits, "max_open_orders"),
        max_daily_notional=_positive_decimal(limits, "max_daily_notional"),
    )
    try:
        return _with_depth(base, doc, limits)
    except PolicyKeyError as exc:
        raise RiskPolicyError(exc.key, str(exc)) from exc


_OPTIONAL_NUMBERS = (
    "max_net_position",
    "max_gross_position",
    "max_gross_exposure",
    "min_excess_liquidity",
    "duplicate_window_s",
    "runaway_max_fills",
    "max_order_efficiency_ratio",
)


def _optional_int(doc: Mapping[str, Any], key: str) -> int | None:
    return None if doc.get(key) is None else _positive_int(doc, key)


def _with_depth(base: RiskPolicy, doc: Mapping[str, Any], limits: Mapping[str, Any]) -> RiskPolicy:
    """The issue-19 keys: order types, hours, positions, margin, duplicates, runaway, OER."""

    def number(key: str, default: Decimal) -> Decimal:
        return ip.decimal_at(limits, key) or default

    partial = replace(
        base,
        allowed_order_types=ip.order_types_at(
            limits, "allowed_order_types", ip.DEFAULT_ORDER_TYPES
        ),
        allow_outside_rth=ip.bool_at(limits, "allow_outside_rth", False),
        max_net_position=ip.decimal_at(limits, "max_net_position"),
        max_gross_position=ip.decimal_at(limits, "max_gross_position"),
        max_gross_exposure=ip.decimal_at(limits, "max_gross_exposure"),
        min_excess_liquidity=ip.decimal_at(limits, "min_excess_liquidity"),
        duplicate_window_s=ip.decimal_at(limits, "duplicate_window_s"),
        runaway_max_fills=_optional_int(limits, "runaway_max_fills"),
        runaway_window_s=number("runaway_window_s", Decimal(60)),
        max_order_efficiency_ratio=ip.decimal_at(limits, "max_order_efficiency_ratio"),
        oer_min_orders=_optional_int(limits, "oer_min_orders") or 20,
        max_contract_details_age_s=number("max_contract_details_age_s", Decimal(86400)),
        max_account_state_age_s=number("max_account_state_age_s", Decimal(5)),
    )
    return replace(partial, instruments=ip.instruments_from(doc.get("instruments"),
                                                            partial.defaults()))  # fmt: skip


def load(path: Path) -> RiskPolicy:
    if not path.is_file():
        raise RiskPolicyError("(file)", f"{path} does not exist")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, Mapping):
        raise RiskPolicyError("(file)", f"{path} must hold a mapping")
    return from_mapping(doc)
