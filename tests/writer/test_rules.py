"""Pure rules of the writer: config, kill switch, probe verdicts, request shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from livegate_api.v1 import common_pb2
from livegate_common.config import ConfigError
from writer_service import wire
from writer_service.config import Role, from_document
from writer_service.errors import WriterError
from writer_service.kill_switch import SwitchState, WriterKillSwitch
from writer_service.probe import Answer, Observation, Verdict, decide


def _doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "role": "W",
        "server": {"tls": {"ca": "ca.pem", "cert": "w.pem", "key": "w.key"}},
        "principals": {
            "policy": {"sans": ["spiffe://livegate.dev/policy"], "scopes": ["writer.call"]}
        },
        "vault": {
            "addr": "http://127.0.0.1:8200",
            "role_id": "rid",
            "wrapped_secret_id_file": "wrap",
            "secret_path": "livegate/W/broker",
        },
    }
    doc.update(overrides)
    return doc


def test_config_when_minimal_then_documented_defaults() -> None:
    config = from_document(_doc(), Path("/etc/livegate"))
    assert config.role is Role.W
    assert config.vault.kv_mount == "secret"
    assert config.vault.wrapped_secret_id_file == Path("/etc/livegate/wrap")
    assert (config.broker.connect_timeout_s, config.policy_peer_timeout_s) == (10.0, 10.0)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"role": "X"}, "role"),
        ({"role": None}, "role"),
        ({"vault": {"addr": "http://x"}}, "vault.role_id"),
        ({"broker": {"probe_timeout_s": 0}}, "broker.probe_timeout_s"),
        ({"kill_switch": {"policy_peer_timeout_s": "soon"}}, "kill_switch.policy_peer_timeout_s"),
    ],
)
def test_config_when_value_invalid_then_error_names_the_key(
    overrides: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        from_document(_doc(**overrides), Path("/"))
    assert refused.value.key == key


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_kill_switch_when_started_then_closed_until_synced_open() -> None:
    switch = WriterKillSwitch(10, clock=FakeClock())
    assert not switch.is_open()
    switch.sync(SwitchState.OPEN, "go", "policy", 1)
    assert switch.is_open()


def test_kill_switch_when_close_version_older_then_still_closes() -> None:
    switch = WriterKillSwitch(10, clock=FakeClock())
    switch.sync(SwitchState.OPEN, "go", "policy", 3)
    result = switch.sync(SwitchState.CLOSED, "restored database", "policy", 2)
    assert (result.state, result.version) == (SwitchState.CLOSED, 2)


@pytest.mark.parametrize(("version", "opens"), [(2, False), (3, False), (4, True)])
def test_kill_switch_when_open_after_a_close_then_only_a_newer_version_opens(
    version: int, opens: bool
) -> None:
    """After a close, an OPEN must be newer than every version seen (3 here, from the OPEN)."""
    switch = WriterKillSwitch(10, clock=FakeClock())
    switch.sync(SwitchState.OPEN, "go", "policy", 3)
    switch.sync(SwitchState.CLOSED, "stop", "policy", 2)
    assert switch.sync(SwitchState.OPEN, "again", "policy", version).state is (
        SwitchState.OPEN if opens else SwitchState.CLOSED
    )


@pytest.mark.parametrize(("resend", "closes"), [(True, False), (False, True)])
def test_kill_switch_when_a_lower_close_is_a_resend_then_only_a_close_of_its_own_applies(
    resend: bool, closes: bool
) -> None:
    """A replica's heartbeat read before another replica's OPEN must not close it again."""
    switch = WriterKillSwitch(10, clock=FakeClock())
    switch.sync(SwitchState.OPEN, "go", "policy", 7)
    result = switch.sync(SwitchState.CLOSED, "stored", "policy", 6, resend=resend)
    assert result.state is (SwitchState.CLOSED if closes else SwitchState.OPEN)
    assert switch.sync(SwitchState.OPEN, "go", "policy", 7).state is (
        SwitchState.CLOSED if closes else SwitchState.OPEN
    )


def test_kill_switch_when_open_older_than_the_open_one_then_ignored() -> None:
    switch = WriterKillSwitch(10, clock=FakeClock())
    switch.sync(SwitchState.OPEN, "go", "policy", 5)
    result = switch.sync(SwitchState.OPEN, "late", "policy", 4)
    assert (result.state, result.version, result.reason) == (SwitchState.OPEN, 5, "go")


def test_kill_switch_when_policy_silent_past_timeout_then_closes_and_reopens_on_next_sync() -> None:
    clock = FakeClock()
    switch = WriterKillSwitch(10, clock=clock)
    switch.sync(SwitchState.OPEN, "go", "policy", 1)
    clock.now = 10.5
    snapshot = switch.snapshot()
    assert snapshot.state is SwitchState.CLOSED
    assert "no kill-switch sync" in snapshot.reason and snapshot.changed_by == "system"
    switch.sync(SwitchState.OPEN, "go", "policy", 1)
    assert switch.is_open()


Q_OK = {
    "open_orders_query": Observation(Answer.ANSWERED, "ok"),
    "completed_orders_query": Observation(Answer.ANSWERED, "ok"),
}
Q_321 = {
    "open_orders_query": Observation(Answer.READ_ONLY, "321"),
    "completed_orders_query": Observation(Answer.READ_ONLY, "321"),
}
Q_SLOW = {
    "open_orders_query": Observation(Answer.TIMED_OUT, "-"),
    "completed_orders_query": Observation(Answer.TIMED_OUT, "-"),
}
MARGINS = Observation(Answer.ANSWERED, "margins")
REFUSED = Observation(Answer.READ_ONLY, "321")
OTHER_REFUSAL = Observation(Answer.REFUSED, "201")
SILENT = Observation(Answer.TIMED_OUT, "-")


# Gateway flavors: trade-capable (Q_OK, MARGINS); read-only refusing the queries (Q_321, with
# the what-if refused or priced); read-only refusing only the what-if (Q_OK, REFUSED).
@pytest.mark.parametrize(
    ("role", "managed", "queries", "what_if", "verdict"),
    [
        (Role.W, ["U1"], Q_OK, MARGINS, Verdict.MATCHES_ROLE),
        (Role.W, ["U1"], Q_321, REFUSED, Verdict.MISMATCH),
        (Role.W, ["U1"], Q_321, MARGINS, Verdict.MISMATCH),
        (Role.W, ["U1"], Q_OK, REFUSED, Verdict.MISMATCH),
        (Role.W, ["U1"], Q_OK, OTHER_REFUSAL, Verdict.MISMATCH),
        (Role.W, ["U1"], Q_OK, SILENT, Verdict.INCONCLUSIVE),
        (Role.W, ["U1"], Q_SLOW, MARGINS, Verdict.INCONCLUSIVE),
        (Role.W, ["DU1"], Q_OK, MARGINS, Verdict.MISMATCH),
        (Role.W, ["U1", "DU9"], Q_OK, MARGINS, Verdict.MISMATCH),
        (Role.W, ["U2"], Q_OK, MARGINS, Verdict.MISMATCH),
        (Role.R, ["U1"], Q_321, REFUSED, Verdict.MATCHES_ROLE),
        (Role.R, ["U1"], Q_321, SILENT, Verdict.MATCHES_ROLE),
        (Role.R, ["U1"], Q_321, MARGINS, Verdict.MATCHES_ROLE),
        (Role.R, ["U1"], Q_OK, REFUSED, Verdict.MATCHES_ROLE),
        (Role.R, ["U1"], Q_OK, MARGINS, Verdict.MISMATCH),
        (Role.R, ["DU1"], Q_OK, MARGINS, Verdict.MISMATCH),
        (Role.R, ["U1"], Q_SLOW, MARGINS, Verdict.MISMATCH),
        (Role.R, ["U1"], Q_OK, SILENT, Verdict.INCONCLUSIVE),
        (Role.R, ["U1"], Q_OK, OTHER_REFUSAL, Verdict.INCONCLUSIVE),
        (Role.R, ["U2"], Q_321, REFUSED, Verdict.MISMATCH),
        (Role.ABH, ["U1"], Q_321, REFUSED, Verdict.MATCHES_ROLE),
        (Role.ABH, ["U1"], Q_OK, REFUSED, Verdict.MATCHES_ROLE),
        (Role.ABH, ["DU1"], Q_OK, MARGINS, Verdict.MATCHES_ROLE),
        (Role.ABH, ["DU1", "DU2"], Q_OK, MARGINS, Verdict.MATCHES_ROLE),
        (Role.ABH, ["DU1", "U3"], Q_OK, MARGINS, Verdict.MISMATCH),
        (Role.ABH, ["U1"], Q_OK, MARGINS, Verdict.MISMATCH),
        (Role.ABH, ["DU1"], Q_SLOW, MARGINS, Verdict.MISMATCH),
        (Role.ABH, ["U1"], Q_OK, SILENT, Verdict.INCONCLUSIVE),
        (Role.ABH, ["U1"], Q_SLOW, SILENT, Verdict.INCONCLUSIVE),
    ],
)
def test_decide_when_observations_given_then_verdict(
    role: Role,
    managed: list[str],
    queries: dict[str, Observation],
    what_if: Observation,
    verdict: Verdict,
) -> None:
    # ["U2"]: the gateway manages another account than the configured U1.
    configured = ("U1",) if managed == ["U2"] else (managed[0],)
    got, evidence = decide(role, configured, managed, queries, what_if)
    assert got is verdict, [(e.check, e.passed, e.observed) for e in evidence]
    checks = ["managed_accounts", "open_orders_query", "completed_orders_query", "what_if"]
    if role is Role.ABH:
        checks.insert(1, "paper_accounts")
    assert [e.check for e in evidence] == checks
    # A matching verdict rests on evidence that passed, every check of it.
    assert (verdict is Verdict.MATCHES_ROLE) is all(e.passed for e in evidence)


def test_decide_when_label_given_then_evidence_names_accounts_only_by_it() -> None:
    _verdict, evidence = decide(
        Role.W, ("U1234567",), ["U1234567", "DU7654321"], Q_OK, MARGINS, lambda a: "h" + a[-2:]
    )
    text = " ".join(e.observed for e in evidence)
    assert "U1234567" not in text and "DU7654321" not in text
    assert "h21" in text  # the paper account that makes W's verdict a mismatch


def _order(**fields: Any) -> common_pb2.Order:
    base: dict[str, Any] = {
        "instrument": common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
        "action": common_pb2.ACTION_BUY,
        "quantity": "10",
        "order_type": common_pb2.ORDER_TYPE_LIMIT,
        "limit_price": "189.25",
        "time_in_force": common_pb2.TIME_IN_FORCE_DAY,
    }
    base.update(fields)
    return common_pb2.Order(**base)


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        ({"limit_price": "1e3"}, "INVALID_DECIMAL", "order.limit_price"),
        ({"limit_price": "NaN"}, "INVALID_DECIMAL", "order.limit_price"),
        ({"limit_price": ""}, "FIELD_REQUIRED", "order.limit_price"),
        ({"stop_price": "5"}, "FIELD_NOT_ALLOWED", "order.stop_price"),
        ({"action": common_pb2.ACTION_UNSPECIFIED}, "FIELD_REQUIRED", "order.action"),
        ({"time_in_force": 99}, "FIELD_REQUIRED", "order.time_in_force"),
        (
            {
                "instrument": common_pb2.Instrument(
                    symbol="aapl", sec_type=common_pb2.SEC_TYPE_STOCK
                )
            },
            "FIELD_INVALID",
            "order.instrument.symbol",
        ),
    ],
)
def test_wire_order_when_malformed_then_reason_names_field(
    fields: dict[str, Any], reason: str, field: str
) -> None:
    with pytest.raises(WriterError) as refused:
        wire.order(_order(**fields))
    assert (refused.value.reason, refused.value.metadata["field"]) == (reason, field)


def test_wire_order_when_valid_then_exact_decimals() -> None:
    spec = wire.order(_order())
    assert str(spec.limit_price) == "189.25" and str(spec.quantity) == "10"


def test_wire_common_when_key_too_long_then_field_too_long_with_numbers() -> None:
    with pytest.raises(WriterError) as refused:
        wire.common_fields("", "U1", "k" * 65)
    assert refused.value.reason == "FIELD_TOO_LONG"
    assert refused.value.metadata == {"field": "idempotency_key", "limit": "64", "length": "65"}


def test_wire_timestamp_when_converted_then_keeps_seconds() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert wire.timestamp(at).seconds == int(at.timestamp())
