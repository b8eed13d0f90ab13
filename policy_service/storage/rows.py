"""Row <-> domain conversions of the store (previews, kill switch)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from policy_service.domain import model as m
from policy_service.domain.reference import ContractDetails, Margin


def switch_from(row: Any) -> m.KillSwitch:
    return m.KillSwitch(
        m.SwitchState(row.state),
        row.reason,
        row.changed_by,
        int(row.changed_at_us),
        int(row.version),
    )


def preview_body(p: m.Preview) -> dict[str, Any]:
    return {
        "order": m.order_to_dict(p.order),
        "reference_price": None if p.reference_price is None else str(p.reference_price),
        "reference_as_of_us": p.reference_as_of_us,
        "estimated_notional": str(p.estimated_notional),
        "checks": [
            {"name": c.name, "passed": c.passed, "reason": c.reason, "metadata": dict(c.metadata)}
            for c in p.checks
        ],
        "risk_policy_id": p.risk_policy_id,
        "broker_order_id": p.broker_order_id,
        "changes": m.changes_to_dict(p.changes) if p.changes else None,
        "leg": p.leg.value if p.leg else None,
        "details": p.details.to_dict() if p.details is not None else None,
        "details_error": p.details_error,
        "margin": p.margin.to_dict() if p.margin is not None else None,
        "margin_error": p.margin_error,
        "requested_type": p.requested_type.value if p.requested_type else None,
        "intended_duplicate": p.intended_duplicate,
        "replaced_quantity": str(p.replaced_quantity) if p.replaced_quantity is not None else None,
        "strategy": p.strategy,
    }


def preview_from(row: Any) -> m.Preview:
    body = json.loads(row.body)
    return m.Preview(
        preview_id=row.preview_id,
        kind=m.Kind(row.kind),
        account_id=row.account_id,
        order=m.order_from_dict(body["order"]),
        reference_price=Decimal(body["reference_price"]) if body["reference_price"] else None,
        reference_as_of_us=int(body["reference_as_of_us"]),
        estimated_notional=Decimal(body["estimated_notional"]),
        checks=tuple(
            m.LimitCheck(c["name"], c["passed"], c["reason"], c["metadata"]) for c in body["checks"]
        ),
        risk_policy_id=body["risk_policy_id"],
        created_by=row.created_by,
        created_at_us=int(row.created_at_us),
        expires_at_us=int(row.expires_at_us),
        broker_order_id=int(body["broker_order_id"]),
        changes=m.changes_from_dict(body["changes"]) if body["changes"] else None,
        group_id=row.group_id,
        leg=m.Leg(body["leg"]) if body["leg"] else None,
        details=ContractDetails.from_dict(body["details"]) if body.get("details") else None,
        details_error=body.get("details_error", ""),
        margin=Margin.from_dict(body["margin"]) if body.get("margin") else None,
        margin_error=body.get("margin_error", ""),
        requested_type=m.OrderType(body["requested_type"]) if body.get("requested_type") else None,
        intended_duplicate=bool(body.get("intended_duplicate", False)),
        replaced_quantity=Decimal(body["replaced_quantity"])
        if body.get("replaced_quantity")
        else None,
        strategy=body.get("strategy", ""),
    )
