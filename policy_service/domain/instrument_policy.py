"""Per-instrument limits of the risk policy: each key falls back to the global value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from policy_service.domain.model import Instrument, OrderType, SecType

# A market order must be allowed by name: the seed system refuses them outright.
DEFAULT_ORDER_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT})


class PolicyKeyError(ValueError):
    """A key of the risk policy is invalid; names the key (RiskPolicyError wraps it)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class InstrumentLimits:
    """The limits one instrument trades under (globals where the policy names no override)."""

    symbol: str
    sec_type: SecType
    max_quantity: Decimal
    max_notional_per_order: Decimal
    price_collar_bps: Decimal
    allowed_order_types: frozenset[OrderType]
    allow_outside_rth: bool
    max_net_position: Decimal | None
    max_gross_position: Decimal | None

    def canonical(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "sec_type": self.sec_type.value,
            "max_quantity": str(self.max_quantity),
            "max_notional_per_order": str(self.max_notional_per_order),
            "price_collar_bps": str(self.price_collar_bps),
            "allowed_order_types": sorted(t.value for t in self.allowed_order_types),
            "allow_outside_rth": self.allow_outside_rth,
            "max_net_position": _text(self.max_net_position),
            "max_gross_position": _text(self.max_gross_position),
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def decimal_at(doc: Mapping[str, Any], key: str, where: str = "") -> Decimal | None:
    """An optional decimal > 0 (None when absent)."""
    value = doc.get(key)
    if value is None:
        return None
    name = f"{where}{key}"
    if isinstance(value, bool):
        raise PolicyKeyError(name, f"must be a decimal, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise PolicyKeyError(name, f"must be a decimal, got {value!r}") from exc
    if not number.is_finite() or number <= 0:
        raise PolicyKeyError(name, f"must be > 0, got {number}")
    return number


def bool_at(doc: Mapping[str, Any], key: str, default: bool, where: str = "") -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise PolicyKeyError(f"{where}{key}", f"must be true or false, got {value!r}")
    return value


def order_types_at(
    doc: Mapping[str, Any], key: str, default: frozenset[OrderType], where: str = ""
) -> frozenset[OrderType]:
    raw = doc.get(key)
    if raw is None:
        return default
    try:
        types = frozenset(OrderType(str(t).upper()) for t in raw)
    except (TypeError, ValueError) as exc:
        raise PolicyKeyError(f"{where}{key}", f"unknown order type in {raw!r}") from exc
    if not types:
        raise PolicyKeyError(f"{where}{key}", "must list at least one order type")
    return types


def instruments_from(raw: Any, defaults: InstrumentLimits) -> dict[tuple[str, SecType], Any]:
    """The policy's `instruments` list, each entry merged over the global DEFAULTS."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise PolicyKeyError("instruments", "must be a list of {symbol, sec_type, ...}")
    out: dict[tuple[str, SecType], InstrumentLimits] = {}
    for index, entry in enumerate(raw):
        where = f"instruments[{index}]."
        if not isinstance(entry, Mapping) or not isinstance(entry.get("symbol"), str):
            raise PolicyKeyError(f"{where}symbol", "each instrument needs a symbol")
        try:
            sec_type = SecType(str(entry.get("sec_type", "STOCK")).upper())
        except ValueError as exc:
            raise PolicyKeyError(f"{where}sec_type", f"unknown {entry.get('sec_type')}") from exc
        limits = _merged(entry, defaults, entry["symbol"].upper(), sec_type, where)
        key = (limits.symbol, sec_type)
        if key in out:
            raise PolicyKeyError(f"{where}symbol", f"{limits.symbol} {sec_type} listed twice")
        out[key] = limits
    return out


def _merged(
    entry: Mapping[str, Any], d: InstrumentLimits, symbol: str, sec_type: SecType, where: str
) -> InstrumentLimits:
    def number(key: str, default: Decimal | None) -> Decimal | None:
        found = decimal_at(entry, key, where)
        return default if found is None else found

    return InstrumentLimits(
        symbol=symbol,
        sec_type=sec_type,
        max_quantity=number("max_quantity", d.max_quantity) or d.max_quantity,
        max_notional_per_order=number("max_notional_per_order", d.max_notional_per_order)
        or d.max_notional_per_order,
        price_collar_bps=number("price_collar_bps", d.price_collar_bps) or d.price_collar_bps,
        allowed_order_types=order_types_at(
            entry, "allowed_order_types", d.allowed_order_types, where
        ),
        allow_outside_rth=bool_at(entry, "allow_outside_rth", d.allow_outside_rth, where),
        max_net_position=number("max_net_position", d.max_net_position),
        max_gross_position=number("max_gross_position", d.max_gross_position),
    )


def resolve(
    instrument: Instrument,
    named: Mapping[tuple[str, SecType], InstrumentLimits],
    allowed_symbols: frozenset[str],
    defaults: InstrumentLimits,
) -> InstrumentLimits | None:
    """The limits INSTRUMENT trades under; None when the policy does not allow it.

    A named instrument uses its own entry. A stock or ETF in allowed_symbols uses the globals.
    Nothing else trades: an empty list allows no symbol, and a derivative must be named.
    """
    entry = named.get((instrument.symbol, instrument.sec_type))
    if entry is not None:
        return entry
    if not instrument.is_derivative and instrument.symbol in allowed_symbols:
        return InstrumentLimits(**{**defaults.__dict__, "symbol": instrument.symbol,
                                   "sec_type": instrument.sec_type})  # fmt: skip
    return None
