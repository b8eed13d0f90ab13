"""The role's own rule for writes, and the permission latch a failed probe sets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from livegate_common.config import ConfigError
from writer_service.config import Role, from_document
from writer_service.errors import ErrorKind, WriterError
from writer_service.kill_switch import SwitchState, WriterKillSwitch
from writer_service.permission import PermissionMonitor
from writer_service.probe import Evidence, ProbeResult, Verdict
from writer_service.role_rules import write_refusal


@pytest.mark.parametrize(
    ("role", "accounts", "reason"),
    [
        (Role.R, ["U1234567"], "WRITER_ROLE_READ_ONLY"),
        (Role.R, ["DU1234567"], "WRITER_ROLE_READ_ONLY"),
        (Role.R, [], "WRITER_ROLE_READ_ONLY"),
        (Role.ABH, ["U1234567"], "WRITER_ROLE_PAPER_ONLY"),
        (Role.ABH, ["DU1", "U2"], "WRITER_ROLE_PAPER_ONLY"),
        (Role.ABH, ["F123"], "WRITER_ROLE_PAPER_ONLY"),
        (Role.ABH, ["DU1234567"], None),
        (Role.ABH, ["DU1", "DU2"], None),
        (Role.W, ["DU1234567"], "WRITER_ROLE_LIVE_ONLY"),
        (Role.W, ["U1", "DU2"], "WRITER_ROLE_LIVE_ONLY"),
        (Role.W, ["U1234567"], None),
    ],
)
def test_write_refusal_when_role_and_accounts_given_then_reason_or_none(
    role: Role, accounts: list[str], reason: str | None
) -> None:
    refusal = write_refusal(role, accounts)
    assert (refusal.reason if refusal else None) == reason
    if refusal is not None:
        assert refusal.kind is ErrorKind.PERMISSION_DENIED
        assert refusal.metadata["role"] == role.value
        # Counts, never an account id.
        assert not any(a in " ".join(refusal.metadata.values()) for a in accounts)


def _result(verdict: Verdict, role: Role = Role.W) -> ProbeResult:
    evidence = (Evidence("what_if", verdict is Verdict.MATCHES_ROLE, "error 321 Read-Only"),)
    return ProbeResult(role, ("U1",), verdict, evidence, datetime.now(UTC))


def test_permission_when_probe_mismatches_then_closes_and_holds_writes_until_one_matches() -> None:
    switch = WriterKillSwitch(60)
    switch.sync(SwitchState.OPEN, "go", "policy", 1)
    results = iter([_result(Verdict.MISMATCH), _result(Verdict.MATCHES_ROLE)])

    async def probe() -> ProbeResult:
        return next(results)

    monitor = PermissionMonitor(_result(Verdict.MATCHES_ROLE), probe, switch)
    monitor.require_proven()
    asyncio.run(monitor.reprobe("periodic"))
    closed = switch.snapshot()
    assert closed.state is SwitchState.CLOSED
    assert "periodic" in closed.reason and "MISMATCH" in closed.reason
    assert "what_if: error 321 Read-Only" in closed.reason
    with pytest.raises(WriterError) as held:
        monitor.require_proven()
    assert held.value.reason == "WRITER_PERMISSION_UNPROVEN"
    assert held.value.metadata["verdict"] == "MISMATCH"
    # The policy reopening the switch does not undo the latch; a matching probe does.
    switch.sync(SwitchState.OPEN, "go", "policy", 2)
    with pytest.raises(WriterError):
        monitor.require_proven()
    asyncio.run(monitor.reprobe("reconnect"))
    monitor.require_proven()
    assert monitor.current().verdict is Verdict.MATCHES_ROLE


def _doc(**broker: Any) -> dict[str, Any]:
    return {
        "role": "R",
        "server": {"tls": {"ca": "ca.pem", "cert": "w.pem", "key": "w.key"}},
        "principals": {},
        "vault": {
            "addr": "http://127.0.0.1:8200",
            "role_id": "rid",
            "wrapped_secret_id_file": "wrap",
            "secret_path": "livegate/R/broker",
        },
        "broker": broker,
    }


def test_config_when_probe_interval_absent_then_sixty_seconds() -> None:
    assert from_document(_doc(), Path("/")).broker.probe_interval_s == 60.0


@pytest.mark.parametrize("interval", [0, 0.5, 3601, "often"])
def test_config_when_probe_interval_out_of_bounds_then_refused_naming_the_key(
    interval: object,
) -> None:
    with pytest.raises(ConfigError) as refused:
        from_document(_doc(probe_interval_s=interval), Path("/"))
    assert refused.value.key == "broker.probe_interval_s"
