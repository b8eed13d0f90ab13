"""Row <-> domain conversions of the store (previews, kill switch)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from policy_service.domain import model as m


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
    )
