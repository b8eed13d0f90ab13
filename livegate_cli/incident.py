"""The runbook's Incident Review Template, filled from audit events; people write the rest."""

from __future__ import annotations

from collections.abc import Sequence

from livegate_api.v1 import common_pb2, policy_pb2
from livegate_cli.incident_fills import fills_section, statuses_section

UNKNOWN = "(not in the audit trail)"
TO_FILL = "(to be written by the reviewer)"


def _state(value: int) -> str:
    if value == common_pb2.KILL_SWITCH_STATE_UNSPECIFIED:
        return UNKNOWN
    return common_pb2.KillSwitchState.Name(value).removeprefix("KILL_SWITCH_STATE_")


def _distinct(values: Sequence[str]) -> str:
    seen = [v for i, v in enumerate(values) if v and v not in values[:i]]
    return ", ".join(seen) if seen else UNKNOWN


def _timestamp(event: policy_pb2.AuditEvent) -> str:
    return event.occurred_at.ToDatetime().isoformat(timespec="milliseconds") + "Z"


def render(
    selector: str,
    events: Sequence[policy_pb2.AuditEvent],
    kill_switch_after: common_pb2.KillSwitch | None,
) -> str:
    """Markdown for the events that SELECTOR matched (in chain order)."""
    if not events:
        return f"# Incident review: {selector}\n\nNo audit event matches {selector}.\n"
    first, last = events[0], events[-1]
    # An automatic stop's close (AutoStop) names its trigger as operator: auto:<trigger>.
    switch_methods = ("SetKillSwitch", "ConfirmReopen", "AutoStop")
    operators = [e.principal for e in events if e.method in switch_methods]
    after = _state(kill_switch_after.state) if kill_switch_after else UNKNOWN
    outcomes = [
        f"{e.outcome} {e.status_code}"
        + (f" {e.reason}" if e.reason else "")
        + (f" (gate step {e.gate_step})" if e.gate_step else "")
        for e in events
    ]
    broker_ids = [str(e.broker_order_id) for e in events if e.broker_order_id]
    rows = [
        ("Timestamp (UTC)", f"{_timestamp(first)} .. {_timestamp(last)}"),
        (
            "Operator",
            _distinct(operators) if operators else _distinct([e.principal for e in events]),
        ),
        ("Account id hash", _distinct([e.account_id_hash for e in events])),
        ("Tool name", _distinct([e.method for e in events])),
        ("Request id", _distinct([e.request_id for e in events])),
        ("Approval id", _distinct([e.approval_id for e in events])),
        ("Idempotency key", _distinct([e.idempotency_key for e in events])),
        ("Broker order id", _distinct(broker_ids)),
        ("Kill switch state before", _state(first.kill_switch_state)),
        ("Kill switch state after", after),
        ("Live limit policy id", _distinct([e.risk_policy_id for e in events])),
        ("Refusal or execution status", "; ".join(outcomes)),
        ("Audit event ids", ", ".join(str(e.event_id) for e in events)),
    ]
    lines = [f"# Incident review: {selector}", "", "| field | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", *fills_section(events), *statuses_section(events)]
    lines += ["## Root cause", "", TO_FILL, "", "## Follow-ups", "", TO_FILL, ""]
    return "\n".join(lines)
