"""What a close touched, in its audit events: pending keys, cancelled broker order ids, accounts."""

from __future__ import annotations

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.broker_truth.flows import Desk, answer_of
from tests.policy.harness import new_key
from tests.support.writers import ACCOUNT
from tests.writer.test_cancel_all import HAND_CLIENT_ID, place_by_hand

pytestmark = pytest.mark.timeout(90)
CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED


def _events(desk: Desk, method: str) -> list[policy_pb2.AuditEvent]:
    events = desk.stack.policy.operator.ListAuditEvents(
        policy_pb2.ListAuditEventsRequest(page_size=1000), timeout=10
    ).events
    return [e for e in events if e.method == method]


def test_set_kill_switch_when_broker_wide_without_cancel_all_then_refused_and_audited(
    desk: Desk,
) -> None:
    before = len(_events(desk, "SetKillSwitch"))
    refused = answer_of(
        lambda: desk.stack.policy.operator.SetKillSwitch(
            policy_pb2.SetKillSwitchRequest(state=CLOSED, reason="drill", broker_wide_cancel=True),
            timeout=30,
        )
    )
    assert (refused.code, refused.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "FIELD_INVALID")
    assert refused.metadata["field"] == "broker_wide_cancel"
    assert desk.stack.policy.service.store.kill_switch().state.value == "OPEN"
    events = _events(desk, "SetKillSwitch")[before:]
    assert [(e.outcome, e.reason) for e in events] == [("REFUSED", "FIELD_INVALID")]
    assert _events(desk, "CancelAllOrders") == []


def test_close_when_cancel_all_then_audit_lists_pending_keys_cancelled_ids_and_account_hashes(
    desk: Desk,
) -> None:
    place_by_hand(desk.sim)
    single = desk.submit(*desk.approved(), new_key())
    assert single.ok, single
    bracket_key = new_key()
    bracket = desk.bracket(*desk.bracket_approved(), bracket_key)
    assert bracket.ok, bracket
    # A write whose outcome the writer could not learn: its key stays UNKNOWN (in doubt).
    pending_key = new_key()
    desk.sim.drop("place_ack")
    desk.sim.drop("open_orders")
    lost = desk.submit(*desk.approved(), pending_key)
    assert lost.reason == "WRITER_OUTCOME_UNKNOWN"
    [in_doubt] = desk.broker_orders(pending_key)
    legs = bracket.response
    ours = {
        single.response.order.broker_order_id,
        legs.parent.broker_order_id,
        legs.take_profit.broker_order_id,
        legs.stop_loss.broker_order_id,
        in_doubt.order_id,
    }
    account_hash = _events(desk, "SubmitOrder")[-1].account_id_hash
    assert account_hash and ACCOUNT not in account_hash

    reply = desk.stack.policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(
            state=CLOSED, reason="incident", cancel_all_open_orders=True
        ),
        timeout=60,
    )

    assert reply.cancelled_orders == len(ours)
    close = _events(desk, "SetKillSwitch")[-1]
    assert close.detail["pending_keys"].split(",") == [pending_key]
    assert close.detail["pending_account_id_hashes"] == account_hash
    [cancel_all] = _events(desk, "CancelAllOrders")
    detail = cancel_all.detail
    assert {int(i) for i in detail["cancelled_broker_order_ids"].split(",")} == ours
    assert {bracket_key, f"{bracket_key}~tp", f"{bracket_key}~sl", pending_key} <= set(
        detail["cancelled_order_refs"].split(",")
    )
    assert (detail["still_working_broker_order_ids"], detail["foreign_orders_left"]) == ("", "1")
    assert (detail["account_id_hashes"], detail["broker_wide"]) == (account_hash, "false")
    assert ACCOUNT not in str(dict(detail)) + str(dict(close.detail))
    hand = [o for o in desk.sim.orders() if o.client_id == HAND_CLIENT_ID]
    assert [o.status for o in hand] == ["Submitted"]


def test_close_when_another_replica_holds_a_key_in_doubt_then_the_close_lists_it_on_postgresql(
    two_replicas: Desk,
) -> None:
    desk = two_replicas
    first, second = desk.stack.replicas
    key = new_key()
    desk.sim.drop("place_ack")
    desk.sim.drop("open_orders")
    lost = desk.submit(*desk.approved(replica=first), key, replica=first)
    assert lost.reason == "WRITER_OUTCOME_UNKNOWN"
    [in_doubt] = desk.broker_orders(key)

    reply = second.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(
            state=CLOSED, reason="incident", cancel_all_open_orders=True
        ),
        timeout=60,
    )

    assert reply.cancelled_orders == 1
    close = _events(desk, "SetKillSwitch")[-1]
    assert (close.principal, close.detail["pending_keys"]) == ("operator", key)
    [cancel_all] = _events(desk, "CancelAllOrders")
    assert cancel_all.detail["cancelled_broker_order_ids"] == str(in_doubt.order_id)
    assert cancel_all.detail["cancelled_order_refs"] == key
    assert [o.status for o in desk.broker_orders(key)] == ["Cancelled"]
