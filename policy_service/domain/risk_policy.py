"""The versioned risk policy: its limits, read from YAML once at start, Decimals throughout."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from policy_service.domain.model import SecType


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
    allowed_symbols: frozenset[str]  # empty = any symbol
    max_orders_per_minute: int
    max_open_orders: int
    max_daily_notional: Decimal

    def canonical(self) -> dict[str, Any]:
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
        raise RiskPolicyError("allowed_symbols", "must be a list (empty = any)")
    return RiskPolicy(
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


def load(path: Path) -> RiskPolicy:
    if not path.is_file():
        raise RiskPolicyError("(file)", f"{path} does not exist")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, Mapping):
        raise RiskPolicyError("(file)", f"{path} must hold a mapping")
    return from_mapping(doc)
