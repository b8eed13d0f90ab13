"""Fills recorded as audit events by the real store (SQLite): once per exec id, linked or not."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from livegate_api.v1 import policy_pb2
from livegate_cli.incident_fills import PENDING, fills_section
from policy_service.domain import model as m
from policy_service.domain.order_life import (
    OrderStatusReport,
    completes,
    correction_base,
    key_of,
)
from policy_service.domain.reference import Fill
from policy_service.domain.usage import Exposure
from policy_service.storage.store import SqlStore
from tests.policy.harness import Harness, new_key
from tests.support.writers import ACCOUNT

BASE = "0000e1a7.0000beef.01"


def _fill(exec_id: str, ref: str, qty: str = "2", **kw: Any) -> Fill:
    return Fill(
        exec_id=exec_id, broker_order_id=42, order_ref=ref, con_id=265598, action=m.Action.BUY,
        quantity=Decimal(qty), price=Decimal("100.00"), time_us=1_700_000_000_000_000, **kw,
    )  # fmt: skip


def _submitted(policy: Harness) -> tuple[str, SqlStore, str]:
    """A key livegate recorded (through the gate), the store and the account's hash."""
    policy.open_switch()
    key = new_key()
    policy.submit(*policy.approved(), key=key)
    return key, policy.service.store, policy.service.gate.account_hash(ACCOUNT)


def _life(h: Harness) -> list[dict[str, Any]]:
    return [e for e in h.rows("audit_events") if e["method"] in ("OrderFill", "OrderCommission")]


def test_record_fills_when_repeated_corrected_and_commissioned_late_then_each_fact_once(
    policy: Harness,
) -> None:
    key, store, account_hash = _submitted(policy)
    first = _fill(f"{BASE}.01", key, cum_quantity=Decimal(2))

    assert store.record_fills(account_hash, [first], 5) == 1
    assert store.record_fills(account_hash, [first], 6) == 0  # repeated: nothing new
    corrected = _fill(f"{BASE}.02", key, cum_quantity=Decimal(2), commission=Decimal("1.00"))
    assert store.record_fills(account_hash, [first, corrected], 7) == 1
    late = _fill(f"{BASE}.01", key, commission=Decimal("1.25"))
    assert store.record_fills(account_hash, [late, corrected], 8) == 0
    store.record_fills(account_hash, [late], 9)  # the commission too is recorded once

    events = _life(policy)
    assert [(e["method"], e["idempotency_key"]) for e in events] == [
        ("OrderFill", key), ("OrderFill", key), ("OrderCommission", key),
    ]  # fmt: skip
    details = [_detail(e) for e in events]
    assert details[1]["corrects"] == f"{BASE}.01" and "corrects" not in details[0]
    assert (details[2]["exec_id"], details[2]["commission"]) == (f"{BASE}.01", "1.25")
    assert policy.count("fills") == 2


def test_record_fills_when_order_ref_is_no_key_of_the_account_then_linked_to_none(
    policy: Harness,
) -> None:
    store, account_hash = policy.service.store, policy.service.gate.account_hash(ACCOUNT)
    store.record_fills(account_hash, [_fill("x.01", "k-not-ours"), _fill("y.01", "")], 5)
    events = _life(policy)
    assert [(e["idempotency_key"], _detail(e)["linked"]) for e in events] == [
        ("", "false"), ("", "false"),
    ]  # fmt: skip
    assert _detail(events[0])["order_ref"] == "k-not-ours"
    assert {r["principal"] for r in policy.rows("fills")} == {""}  # no runaway count either


def test_record_statuses_when_status_flaps_or_repeats_then_each_change_once_and_ours_only(
    policy: Harness,
) -> None:
    key, store, account_hash = _submitted(policy)
    sub = OrderStatusReport(42, key, "Submitted", Decimal(0), Decimal(10))
    pre = OrderStatusReport(42, key, "PreSubmitted", Decimal(0), Decimal(10))
    theirs = OrderStatusReport(43, "k-not-ours", "Submitted", Decimal(0), Decimal(1))

    counts = [store.record_statuses(account_hash, batch, now) for now, batch in
              enumerate(([sub, theirs], [sub], [pre], [pre], [sub]), start=5)]  # fmt: skip

    assert counts == [1, 0, 1, 0, 1]
    events = [_detail(e) for e in policy.rows("audit_events") if e["method"] == "OrderStatus"]
    assert [(d["status"], d["previous_status"]) for d in events] == [
        ("Submitted", ""), ("PreSubmitted", "Submitted"), ("Submitted", "PreSubmitted"),
    ]  # fmt: skip


def _detail(event: dict[str, Any]) -> dict[str, str]:
    return dict(json.loads(event["detail"]))


def test_order_life_rules_when_refs_and_quantities_vary_then_keys_and_remainders_follow() -> None:
    assert [key_of(r) for r in ("k1", "k1~tp", "k1~sl")] == ["k1", "k1", "k1"]
    assert correction_base(f"{BASE}.02") == BASE
    done = _fill("a", "k", cum_quantity=Decimal(5), order_quantity=Decimal(5))
    part = _fill("b", "k", cum_quantity=Decimal(2), order_quantity=Decimal(5))
    assert (completes(done), completes(part), completes(_fill("c", "k"))) == (True, False, False)
    left = Exposure.working("k", 1, Decimal(10), Decimal(0), Decimal("1890.00"), Decimal(4))
    assert (left.buy, left.sell, left.notional) == (Decimal(6), Decimal(0), Decimal("1134"))
    whole = Exposure.working("k", 1, Decimal(10), Decimal(0), Decimal("1890.00"), Decimal(0))
    assert (whole.buy, whole.notional) == (Decimal(10), Decimal("1890.00"))


def test_incident_fills_when_commission_came_later_then_the_row_shows_it() -> None:
    fill = policy_pb2.AuditEvent(
        method="OrderFill", event_id=3, idempotency_key="k", broker_order_id=7,
        detail={"exec_id": "e1", "commission": "", "quantity": "2", "cum_quantity": "2"},
    )  # fmt: skip
    later = policy_pb2.AuditEvent(
        method="OrderCommission", detail={"exec_id": "e1", "commission": "1.10"}
    )
    [row] = [line for line in fills_section([fill, later]) if "| e1 |" in line]
    assert "| 1.10 |" in row and PENDING not in row
    [row] = [line for line in fills_section([fill]) if "| e1 |" in line]
    assert PENDING in row
    assert fills_section([later]) == []
