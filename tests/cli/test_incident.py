"""The incident report fills every template field the audit events know, and only those."""

from __future__ import annotations

from livegate_api.v1 import common_pb2, policy_pb2
from livegate_cli import incident

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
OPEN = common_pb2.KILL_SWITCH_STATE_OPEN


def _event(**fields: object) -> policy_pb2.AuditEvent:
    event = policy_pb2.AuditEvent(**fields)  # type: ignore[arg-type]
    event.occurred_at.FromSeconds(1_790_000_000 + event.event_id)
    return event


def _rows(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) == 2 and parts[0] not in ("field", "---"):
            rows[parts[0]] = parts[1]
    return rows


def test_render_when_request_executed_then_every_known_field_is_filled() -> None:
    event = _event(
        event_id=7, method="SubmitOrder", request_id="req-1", principal="upstream",
        account_id_hash="ab12", approval_id="apr-1", idempotency_key="key-0001",
        broker_order_id=42, kill_switch_state=OPEN, risk_policy_id="rp-1",
        outcome="EXECUTED", status_code="OK", gate_step=12,
    )  # fmt: skip
    rows = _rows(incident.render("request id req-1", [event], common_pb2.KillSwitch(state=CLOSED)))
    assert rows["Request id"] == "req-1"
    assert rows["Approval id"] == "apr-1"
    assert rows["Idempotency key"] == "key-0001"
    assert rows["Broker order id"] == "42"
    assert rows["Account id hash"] == "ab12"
    assert rows["Tool name"] == "SubmitOrder"
    assert rows["Kill switch state before"] == "OPEN"
    assert rows["Kill switch state after"] == "CLOSED"
    assert rows["Live limit policy id"] == "rp-1"
    assert rows["Refusal or execution status"] == "EXECUTED OK (gate step 12)"
    assert rows["Audit event ids"] == "7"
    assert rows["Operator"] == "upstream"
    assert "2026-" in rows["Timestamp (UTC)"]


def test_render_when_request_refused_then_reason_and_step_are_shown_and_gaps_marked() -> None:
    event = _event(
        event_id=3, method="SubmitOrder", request_id="req-2", principal="upstream",
        kill_switch_state=CLOSED, outcome="REFUSED", status_code="FAILED_PRECONDITION",
        reason="KILL_SWITCH_CLOSED", gate_step=6,
    )  # fmt: skip
    text = incident.render("request id req-2", [event], None)
    rows = _rows(text)
    assert rows["Refusal or execution status"] == (
        "REFUSED FAILED_PRECONDITION KILL_SWITCH_CLOSED (gate step 6)"
    )
    assert rows["Broker order id"] == incident.UNKNOWN
    assert rows["Approval id"] == incident.UNKNOWN
    assert rows["Kill switch state after"] == incident.UNKNOWN
    assert text.count(incident.TO_FILL) == 2  # root cause and follow-ups are for a person


def test_render_when_kill_switch_was_operated_then_operator_is_the_one_who_set_it() -> None:
    events = [
        _event(event_id=1, method="SubmitOrder", principal="upstream", kill_switch_state=OPEN),
        _event(event_id=2, method="SetKillSwitch", principal="operator", kill_switch_state=OPEN),
    ]
    rows = _rows(incident.render("window", events, common_pb2.KillSwitch(state=CLOSED)))
    assert rows["Operator"] == "operator"
    assert rows["Audit event ids"] == "1, 2"


def test_render_when_nothing_matches_then_says_so() -> None:
    assert "No audit event matches" in incident.render("request id nope", [], None)


def test_render_when_an_automatic_stop_closed_then_operator_names_its_trigger() -> None:
    events = [
        _event(event_id=1, method="SubmitOrder", principal="upstream", kill_switch_state=OPEN),
        _event(
            event_id=2, method="AutoStop", principal="auto:unexplained_order",
            kill_switch_state=OPEN,
        ),
    ]  # fmt: skip
    rows = _rows(incident.render("window", events, common_pb2.KillSwitch(state=CLOSED)))
    assert rows["Operator"] == "auto:unexplained_order"
