"""The checklist acknowledgement: who, when, for which policy and version; its age; the calls."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import FakeClock, reason_of
from tests.risk.conftest import MakeStack
from tests.risk.flows import limit, submit
from tests.support.stack import Stack

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "live-runbook.md"
DAY_S = 86_400


def runbook_line(method: str) -> str:
    """The runbook's grpcurl line for METHOD (run as written, with its variables set)."""
    lines = [ln.strip() for ln in RUNBOOK.read_text().splitlines() if ln.strip().startswith("$G ")]
    [line] = [ln for ln in lines if ln.endswith(f"/{method}")]
    return line


def run_grpcurl(stack: Stack, line: str, **env: str) -> subprocess.CompletedProcess[str]:
    bindir = Path(sys.executable).parent
    pki = stack.pki
    names = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "G": f"{bindir}/grpcurl -cacert {pki}/ca.pem -cert {pki}/operator.pem "
        f"-key {pki}/operator.key",
        "POLICY": f"localhost:{stack.policy.port}",
        **env,
    }
    return subprocess.run(["bash", "-c", line], env=names, capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip


def run_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    livegate = Path(sys.executable).parent / "livegate"
    target = ["--target", f"localhost:{stack.policy.port}", "--pki", str(stack.pki)]
    return subprocess.run([str(livegate), *args, *target], capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip


def _status(stack: Stack) -> policy_pb2.LiveStatus:
    return stack.policy.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)


def test_acknowledgement_when_it_ages_past_its_days_then_writes_refused_until_renewed(
    make_stack: MakeStack, db_url: str
) -> None:
    clock = FakeClock()
    ages = {"max_reference_age_s": str(3 * DAY_S), "max_contract_details_age_s": str(3 * DAY_S)}
    stack = make_stack(db_url=db_url, clock=clock, limits=ages,
                       policy_overrides={"live_trading.checklist_max_age_days": 1})  # fmt: skip
    status = _status(stack)
    ack = status.checklist
    assert (ack.acknowledged_by, ack.valid) == ("operator", True)
    assert (ack.risk_policy_digest, ack.livegate_version) == (
        status.risk_policy_digest,
        status.livegate_version,
    )
    assert ack.expires_at.seconds - ack.acknowledged_at.seconds == DAY_S

    clock.advance(DAY_S - 60)  # just under a day old
    assert submit(stack, limit("1", "189.00")).order is not None
    clock.advance(120)  # just over
    expired = submit(stack, limit("1", "189.00"))
    assert (expired.reason, expired.step) == ("CHECKLIST_EXPIRED", "4")
    condition = {c.name: c for c in _status(stack).conditions}["checklist.acknowledgement"]
    assert not condition.passed and "expired at" in condition.detail
    closed = common_pb2.KILL_SWITCH_STATE_CLOSED
    stack.policy.operator.SetKillSwitch(
        policy_pb2.SetKillSwitchRequest(state=closed, reason="t"), timeout=10
    )
    with pytest.raises(grpc.RpcError) as caught:
        stack.policy.operator.SetKillSwitch(
            policy_pb2.SetKillSwitchRequest(state=common_pb2.KILL_SWITCH_STATE_OPEN, reason="t"),
            timeout=10,
        )
    assert reason_of(caught.value) == "KILL_SWITCH_OPEN_REFUSED"

    # Renewed through the runbook's grpcurl line, as written: writes pass again.
    renewed = run_grpcurl(stack, runbook_line("AcknowledgeChecklist"),
                          DIGEST=status.risk_policy_digest)  # fmt: skip
    assert renewed.returncode == 0, renewed.stderr
    answer = json.loads(renewed.stdout)
    assert (answer["acknowledged_by"], answer["valid"]) == ("operator", True)
    stack.open_switch()
    assert submit(stack, limit("1", "189.00")).order is not None


def test_acknowledgement_when_the_risk_policy_changes_then_outdated_and_renewed_by_command(
    make_stack: MakeStack, pg_url: str
) -> None:
    stack = make_stack(db_url=pg_url)
    old_digest = _status(stack).risk_policy_digest
    stack.limits, stack.policy_version = {"max_quantity": "400"}, 2
    changed = stack.add_replica()  # the same database, a new policy: the walk-through is due
    new_digest = changed.operator.GetLiveStatus(
        policy_pb2.GetLiveStatusRequest(), timeout=10
    ).risk_policy_digest
    assert new_digest != old_digest
    outdated = submit(stack, limit("1", "189.00"), changed)
    assert (outdated.reason, outdated.step) == ("CHECKLIST_OUTDATED", "4")

    wrong = run_cli(stack, "checklist", "acknowledge", "--digest", old_digest[::-1],
                    "--note", "CHG-43")  # fmt: skip
    assert wrong.returncode == 1 and "CHECKLIST_DIGEST_MISMATCH" in wrong.stderr
    # The command aims at the first replica's port: acknowledge on the changed one instead.
    changed.operator.AcknowledgeChecklist(
        policy_pb2.AcknowledgeChecklistRequest(risk_policy_digest=new_digest, note="CHG-43"),
        timeout=10,
    )
    assert submit(stack, limit("1", "189.00"), changed).order is not None
    # ... which the first replica, still on the old policy, judges outdated in turn.
    assert submit(stack, limit("1", "189.00")).reason == "CHECKLIST_OUTDATED"
    shown = run_cli(stack, "checklist", "status")
    assert shown.returncode == 3 and re.search(r"acknowledged livegate|digest", shown.stdout)


def test_acknowledge_when_caller_lacks_the_scope_then_refused_and_audited(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    digest = _status(stack).risk_policy_digest
    with pytest.raises(grpc.RpcError) as caught:
        stack.policy.upstream.AcknowledgeChecklist(
            policy_pb2.AcknowledgeChecklistRequest(risk_policy_digest=digest, note="me"),
            timeout=10,
        )
    assert reason_of(caught.value) == "SCOPE_MISSING"
    events = stack.policy.operator.ListAuditEvents(
        policy_pb2.ListAuditEventsRequest(page_size=1000), timeout=10
    ).events
    recorded = [e for e in events if e.method == "AcknowledgeChecklist"]
    assert [(e.outcome, e.principal) for e in recorded] == [
        ("RECORDED", "operator"),
        ("REFUSED", "upstream"),
    ]
    assert recorded[0].detail["risk_policy_digest"] == digest
