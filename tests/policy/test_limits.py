"""Unit tests of the pure rules: limit checks, approvals, hash chain, shape."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livegate_api.v1 import common_pb2
from policy_service import wire
from policy_service.domain import approvals, limits
from policy_service.domain import model as m
from policy_service.domain.audit import event_hash
from policy_service.domain.audit_keys import new_keyring
from policy_service.domain.audit_verify import ChainWalk
from policy_service.domain.risk_policy import RiskPolicyError, from_mapping
from tests.policy.harness import LIMITS

POLICY = from_mapping({"id": "p", "version": 1, "limits": LIMITS})
AAPL = m.Instrument("AAPL", m.SecType.STOCK)


def _leg(
    qty: str = "10", limit: str | None = "100", ref: str | None = "100", age: str = "1"
) -> limits.Leg:
    order = m.OrderSpec(
        AAPL,
        m.Action.BUY,
        Decimal(qty),
        m.OrderType.LIMIT if limit else m.OrderType.MARKET,
        Decimal(limit) if limit else None,
        None,
        m.Tif.DAY,
    )
    return limits.Leg(order, Decimal(ref) if ref else None, Decimal(age))


def test_notional_when_market_order_then_uses_reference_price() -> None:
    assert _leg(qty="3", limit=None, ref="50.5").notional == Decimal("151.5")


def test_collar_when_price_at_edge_then_passes_and_beyond_then_denied() -> None:
    assert limits.check_collar(POLICY, _leg(limit="101.00")) is None
    denial = limits.check_collar(POLICY, _leg(limit="101.01"))
    assert denial is not None and denial.metadata["deviation_bps"] == "101.00"


def test_reference_when_missing_then_denied() -> None:
    denial = limits.check_reference(POLICY, _leg(ref=None))
    assert denial is not None and denial.reason == "REFERENCE_PRICE_MISSING"


def test_usage_when_rate_full_then_rate_denied_first() -> None:
    usage = limits.Usage(orders_last_minute=1000, open_orders=999, daily_notional=Decimal("0"))
    denial = limits.check_usage(POLICY, usage, 1, Decimal("1"), True)
    assert denial is not None and denial.reason == "ORDER_RATE_EXCEEDED"


def test_usage_when_cancel_then_open_orders_not_counted() -> None:
    usage = limits.Usage(orders_last_minute=0, open_orders=200, daily_notional=Decimal("0"))
    assert limits.check_usage(POLICY, usage, 0, Decimal("0"), False) is None


def test_risk_policy_when_limit_negative_then_error_names_key() -> None:
    with pytest.raises(RiskPolicyError) as caught:
        from_mapping({"id": "p", "version": 1, "limits": {**LIMITS, "max_quantity": "-1"}})
    assert caught.value.key == "max_quantity"


def test_approval_when_reserved_by_own_key_then_usable_for_settlement() -> None:
    approval = m.Approval("a", "p", "approver", 0, 10, reserved_key="k1")
    assert approvals.check_approval(approval, "a", "p", 5, own_key="k1") is None
    denial = approvals.check_approval(approval, "a", "p", 5, own_key="k2")
    assert denial is not None and denial.reason == "APPROVAL_CONSUMED"


def test_approval_when_revoked_then_refused_unless_its_own_key_settles() -> None:
    revoked = m.Approval("a", "p", "approver", 0, 10, revoked_at_us=3)
    denial = approvals.check_approval(revoked, "a", "p", 5)
    assert denial is not None and denial.reason == "APPROVAL_REVOKED"
    assert denial.step == 8 and denial.metadata["revoked_at_us"] == "3"
    reserved = m.Approval("a", "p", "approver", 0, 10, reserved_key="k1", revoked_at_us=3)
    assert approvals.check_approval(reserved, "a", "p", 5, own_key="k1") is None


def _chain(n: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    prev = ""
    for i in range(1, n + 1):
        event: dict[str, object] = {
            "event_id": i,
            "occurred_at_us": i,
            "method": "SubmitOrder",
            "request_id": "r",
            "principal": "upstream",
            "account_id_hash": "",
            "preview_id": "",
            "approval_id": "",
            "idempotency_key": "",
            "broker_order_id": 0,
            "kill_switch_state": "OPEN",
            "risk_policy_id": "p",
            "outcome": "EXECUTED",
            "status_code": "OK",
            "reason": "",
            "gate_step": 12,
            "detail": "{}",
            "prev_hash": prev,
        }
        event["hash"] = prev = event_hash(event)
        events.append(event)
    return events


def test_verify_chain_when_link_rewritten_then_broken() -> None:
    events = _chain(3)
    events[2]["prev_hash"] = "0" * 64
    problem = ChainWalk(new_keyring()).feed_all(events)
    assert problem is not None
    assert (problem.code, problem.event_id) == ("AUDIT_CHAIN_BROKEN", 3)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "FIELD_REQUIRED"),
        ("-1", "INVALID_DECIMAL"),
        ("NaN", "INVALID_DECIMAL"),
        ("0", "QUANTITY_NOT_POSITIVE"),
        ("1.5", "QUANTITY_NOT_WHOLE"),
    ],
)
def test_order_when_quantity_bad_then_shape_error(value: str, reason: str) -> None:
    msg = common_pb2.Order(
        instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
        action=common_pb2.ACTION_BUY,
        quantity=value,
        order_type=common_pb2.ORDER_TYPE_MARKET,
        time_in_force=common_pb2.TIME_IN_FORCE_DAY,
    )
    with pytest.raises(wire.ShapeError) as caught:
        wire.order(msg)
    assert caught.value.denial.reason == reason
