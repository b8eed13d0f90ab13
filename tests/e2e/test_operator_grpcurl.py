"""The README's grpcurl lines, run as written with the real grpcurl binary over mTLS."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from livegate_api.v1 import common_pb2, policy_pb2
from tests.support.stack import Stack

README = Path(__file__).resolve().parents[2] / "README.md"
RUNBOOK = README.parent / "docs" / "live-runbook.md"


def _readme_operator_lines() -> dict[str, str]:
    """The `$G …` (and `$G2 …`) lines of the README's operator block, keyed by what they do."""
    lines = _readme_lines()
    found = {}
    for line in lines:
        if line.endswith("/SetScopedStop"):
            continue  # test_scoped_stops_grpcurl runs those
        if line.endswith("/ConfirmReopen"):
            found["confirm"] = line
        elif "KILL_SWITCH_STATE_CLOSED" in line and "cancel_all" not in line:
            found["close"] = line
        elif "KILL_SWITCH_STATE_OPEN" in line:
            found["open"] = line
        elif line.endswith("/GetKillSwitch"):
            found["status"] = line
        elif line.endswith("/GetLiveStatus"):
            found["live"] = line
    assert set(found) == {"close", "open", "confirm", "status", "live"}, lines
    return found


def _readme_lines() -> list[str]:
    text = README.read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip().startswith(("$G ", "$G2 "))]


def _run(
    line: str, identity: str, stack: Stack, reopen_id: str = ""
) -> subprocess.CompletedProcess[str]:
    """LINE through bash: $G as IDENTITY, $G2 as the second operator, $REOPEN_ID as given."""
    grpcurl = Path(sys.executable).parent / "grpcurl"
    pki = stack.pki

    def as_(who: str) -> str:
        return f"{grpcurl} -cacert {pki}/ca.pem -cert {pki}/{who}.pem -key {pki}/{who}.key"

    env = {
        "PATH": f"{grpcurl.parent}:/usr/bin:/bin",
        "G": as_(identity),
        "G2": as_("operator2"),
        "U": as_("upstream"),  # a client's own lines (its dead-man lease)
        "POLICY": f"localhost:{stack.policy.port}",
        "REOPEN_ID": reopen_id,
    }
    return subprocess.run(
        ["bash", "-c", line], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_readme_lines_when_run_in_order_as_operator_then_every_one_succeeds(
    stack: Stack,
) -> None:
    lines = _readme_lines()
    assert len(lines) >= 9
    outputs: dict[str, str] = {}
    reopen_id = ""
    for line in lines:
        result = _run(line, "operator", stack, reopen_id)
        assert result.returncode == 0, (line, result.stderr)
        outputs[line] = result.stdout
        if "KILL_SWITCH_STATE_OPEN" in line and line.endswith("/SetKillSwitch"):
            reopen_id = _reopen_id(result.stdout)
    listed = outputs[next(ln for ln in lines if ln.endswith(" list"))].split()
    assert {"livegate.v1.PolicyService", "grpc.health.v1.Health"} <= set(listed)
    assert '"SERVING"' in outputs[next(ln for ln in lines if ln.endswith("Health/Check"))]
    assert json.loads(outputs[next(ln for ln in lines if ln.endswith("VerifyAudit"))])["ok"]
    assert _state(stack) == common_pb2.KILL_SWITCH_STATE_OPEN  # the last switch line opens


def _reopen_id(output: str) -> str:
    return str(json.loads(output)["kill_switch"]["pending_reopen"]["reopen_id"])


def _state(stack: Stack) -> int:
    reply = stack.policy.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest(), timeout=5)
    return int(reply.state)


def test_readme_close_and_open_when_run_as_operator_then_switch_follows(stack: Stack) -> None:
    lines = _readme_operator_lines()
    closed = _run(lines["close"], "operator", stack)
    assert closed.returncode == 0, closed.stderr
    body = json.loads(closed.stdout)  # grpcurl prints proto field names
    assert body["kill_switch"]["state"] == "KILL_SWITCH_STATE_CLOSED"
    assert body["kill_switch"]["changed_by"] == "operator"
    assert body["writer_state"] == "WRITER_SWITCH_STATE_CONFIRMED_CLOSED"
    assert body["writer_synced"] is True
    assert _state(stack) == common_pb2.KILL_SWITCH_STATE_CLOSED
    assert stack.writer.kill_switch.snapshot().state.name == "CLOSED"

    status = _run(lines["status"], "operator", stack)
    assert json.loads(status.stdout)["state"] == "KILL_SWITCH_STATE_CLOSED"
    live = _run(lines["live"], "operator", stack)
    assert live.returncode == 0 and "kill_switch" in live.stdout

    asked = _run(lines["open"], "operator", stack)
    assert asked.returncode == 0, asked.stderr
    assert _state(stack) == common_pb2.KILL_SWITCH_STATE_CLOSED  # until a second operator
    opened = _run(lines["confirm"], "operator", stack, _reopen_id(asked.stdout))
    assert opened.returncode == 0, opened.stderr
    body = json.loads(opened.stdout)
    assert body["kill_switch"]["changed_by"] == "operator2"
    assert body["writer_state"] == "WRITER_SWITCH_STATE_CONFIRMED_OPEN"
    assert _state(stack) == common_pb2.KILL_SWITCH_STATE_OPEN


def test_readme_close_when_run_with_upstream_certificate_then_permission_denied(
    stack: Stack,
) -> None:
    refused = _run(_readme_operator_lines()["close"], "upstream", stack)
    assert refused.returncode != 0
    assert "PermissionDenied" in refused.stderr
    assert re.search(r"SCOPE_MISSING", refused.stderr)
    assert _state(stack) == common_pb2.KILL_SWITCH_STATE_OPEN


def _client_lines(doc: Path) -> list[str]:
    """The `$U …` lines: calls a client makes with its own certificate (its lease)."""
    return [ln.strip() for ln in doc.read_text().splitlines() if ln.strip().startswith("$U ")]


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    livegate = Path(sys.executable).parent / "livegate"
    target = ["--target", f"localhost:{stack.policy.port}", "--pki", str(stack.pki)]
    return subprocess.run([str(livegate), *args, *target], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def test_lease_lines_when_run_as_written_by_the_client_then_renewed_released_and_shown(
    stack: Stack,
) -> None:
    for doc in (README, RUNBOOK):
        renew, release = _client_lines(doc)
        renewed = _run(renew, "operator", stack)
        assert renewed.returncode == 0, (doc, renewed.stderr)
        body = json.loads(renewed.stdout)
        assert (body["principal"], body["state"], body["ttl_s"]) == (
            "upstream", "LEASE_STATE_ACTIVE", 30,
        )  # fmt: skip
        released = _run(release, "operator", stack)
        assert released.returncode == 0, (doc, released.stderr)
        assert json.loads(released.stdout)["state"] == "LEASE_STATE_RELEASED"

    shown = _cli(stack, "lease", "show")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["state"] == "LEASE_STATE_RELEASED"
    again = _cli(stack, "lease", "renew", "--ttl", "45", "--identity", "upstream")
    assert again.returncode == 0 and json.loads(again.stdout)["ttl_s"] == 45
    short = _cli(stack, "lease", "renew", "--ttl", "1", "--identity", "upstream")
    assert short.returncode == 1
    assert json.loads(short.stderr)["reason"] == "LEASE_TTL_OUT_OF_RANGE"
    gone = _cli(stack, "lease", "release", "--identity", "upstream")
    assert gone.returncode == 0 and "LEASE_STATE_RELEASED" in gone.stdout
    # The operator holds no lease of its own (and lacks live.submit).
    assert "SCOPE_MISSING" in _cli(stack, "lease", "release").stderr
