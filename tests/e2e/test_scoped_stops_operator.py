"""The operator's paths to a scoped stop, as documented: the README's and the runbook's grpcurl
lines run as written with the real grpcurl, the `livegate scope` command, and the gauges."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from prometheus_client import REGISTRY

from livegate_api.v1 import policy_pb2
from policy_service.metrics import register_state_gauges
from tests.policy.harness import order_msg
from tests.support.stack import RESTING_BUY, Stack

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "U1234567"  # the README's lines name the dev stack's account


def _lines(doc: Path, reducing: bool = False) -> list[str]:
    """The doc's SetScopedStop lines: those that close and open, or the REDUCING ones."""
    text = doc.read_text()
    found = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(("$G ", "$G2 "))]
    found = [ln for ln in found if ln.endswith("/SetScopedStop")]
    return [ln for ln in found if ("KILL_SWITCH_STATE_REDUCING" in ln) == reducing]


def _grpcurl(stack: Stack, line: str, **env: str) -> subprocess.CompletedProcess[str]:
    bindir = Path(sys.executable).parent
    pki = stack.pki

    def as_(who: str) -> str:
        return f"{bindir}/grpcurl -cacert {pki}/ca.pem -cert {pki}/{who}.pem -key {pki}/{who}.key"

    names = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "G": as_("operator"),
        "G2": as_("operator2"),
        "POLICY": f"localhost:{stack.policy.port}",
        **env,
    }
    return subprocess.run(["bash", "-c", line], env=names, capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip


def _cli(stack: Stack, *args: str, identity: str = "operator") -> subprocess.CompletedProcess[str]:
    livegate = Path(sys.executable).parent / "livegate"
    target = ["--target", f"localhost:{stack.policy.port}", "--pki", str(stack.pki)]
    return subprocess.run([str(livegate), *args, *target, "--identity", identity],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def _preview_refusal(stack: Stack) -> str:
    try:
        stack.preview()
    except Exception as err:  # grpc.RpcError: the reason is in its details
        return str(err)
    return ""


def test_readme_scope_lines_when_run_in_order_then_the_account_closes_and_reopens(
    stack: Stack,
) -> None:
    close, request, confirm = _lines(ROOT / "README.md")

    closed = _grpcurl(stack, close)
    assert closed.returncode == 0, closed.stderr
    body = json.loads(closed.stdout)
    assert body["stop"]["state"] == "KILL_SWITCH_STATE_CLOSED"
    assert body["stop"]["scope"] == stack.policy.service.gate.account_hash(ACCOUNT)
    assert "SCOPE_STOPPED_ACCOUNT" in _preview_refusal(stack)
    asked = _grpcurl(stack, request)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["stop"]["reopen_requested_by"] == "operator"
    alone = _grpcurl(stack, request)  # the requester again: refused, still closed
    assert alone.returncode != 0 and "REOPEN_SAME_OPERATOR" in alone.stderr
    opened = _grpcurl(stack, confirm)
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["stop"]["changed_by"] == "operator2"
    assert _preview_refusal(stack) == ""


def test_runbook_scope_close_when_run_with_each_kind_then_listed_and_the_gauges_show_it(
    stack: Stack,
) -> None:
    close, request, confirm = _lines(ROOT / "docs" / "live-runbook.md")
    register_state_gauges(stack.policy.service.store)
    kinds = {
        "SCOPE_KIND_ACCOUNT": ACCOUNT,
        "SCOPE_KIND_PRINCIPAL": "upstream",
        "SCOPE_KIND_STRATEGY": "mean-rev.v2",
    }
    for kind, value in kinds.items():
        done = _grpcurl(stack, close, SCOPE_KIND=kind, SCOPE_VALUE=value)
        assert done.returncode == 0, (kind, done.stderr)

    listed = _cli(stack, "scope", "list")
    assert listed.returncode == 0, listed.stderr
    scopes = re.findall(r'"scope": "([^"]+)"', listed.stdout)
    account_hash = stack.policy.service.gate.account_hash(ACCOUNT)
    assert sorted(scopes) == sorted([account_hash, "upstream", "mean-rev.v2"])
    assert ACCOUNT not in listed.stdout
    for kind in ("ACCOUNT", "PRINCIPAL", "STRATEGY"):
        assert REGISTRY.get_sample_value("livegate_scoped_stops_closed", {"kind": kind}) == 1
    labels = {"kind": "STRATEGY", "scope": "mean-rev.v2"}
    assert REGISTRY.get_sample_value("livegate_scoped_stop_closed", labels) == 1

    env = {"SCOPE_KIND": "SCOPE_KIND_STRATEGY", "SCOPE_VALUE": "mean-rev.v2"}
    assert _grpcurl(stack, request, **env).returncode == 0
    assert _grpcurl(stack, confirm, **env).returncode == 0
    assert REGISTRY.get_sample_value("livegate_scoped_stop_closed", labels) is None
    assert REGISTRY.get_sample_value("livegate_scoped_stops_closed", {"kind": "STRATEGY"}) == 0


def test_cli_scope_when_closed_and_opened_by_two_operators_then_each_step_exits_as_documented(
    stack: Stack,
) -> None:
    args = ("--kind", "strategy", "--value", "grid")
    closed = _cli(stack, "scope", "close", *args, "--reason", "INC-8")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["stop"]["state"] == "KILL_SWITCH_STATE_CLOSED"
    refused = stack.policy.upstream.CreateOrderPreview
    request = policy_pb2.CreateOrderPreviewRequest(
        account_id=ACCOUNT, order=order_msg("1", RESTING_BUY), strategy="grid"
    )
    try:
        refused(request, timeout=10)
        raise AssertionError("a preview in a stopped strategy passed")
    except Exception as err:  # grpc.RpcError
        assert "SCOPE_STOPPED_STRATEGY" in str(err)

    asked = _cli(stack, "scope", "open", *args, "--reason", "INC-8 resolved")
    assert asked.returncode == 4, asked.stderr  # only requested: still closed
    confirmed = _cli(stack, "scope", "open", *args, "--reason", "ok", identity="operator2")
    assert confirmed.returncode == 0, confirmed.stderr
    assert refused(request, timeout=10).strategy == "grid"
    bad = _cli(stack, "scope", "close", "--kind", "account", "--value", "U9999999",
               "--reason", "typo")  # fmt: skip
    assert bad.returncode == 1
    assert json.loads(bad.stderr)["reason"] == "SCOPE_ACCOUNT_NOT_ALLOWED"


def test_docs_reduce_lines_when_run_then_the_scope_reduces_and_the_gauges_show_it(
    stack: Stack,
) -> None:
    [readme] = _lines(ROOT / "README.md", reducing=True)
    [runbook] = _lines(ROOT / "docs" / "live-runbook.md", reducing=True)
    register_state_gauges(stack.policy.service.store)
    labels = {"kind": "STRATEGY", "scope": "mean-rev.v2"}

    by_readme = _grpcurl(stack, readme)
    by_runbook = _grpcurl(stack, runbook, SCOPE_KIND="SCOPE_KIND_STRATEGY",
                          SCOPE_VALUE="mean-rev.v2")  # fmt: skip

    for done in (by_readme, by_runbook):
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["stop"]["state"] == "KILL_SWITCH_STATE_REDUCING"
    for kind in ("ACCOUNT", "STRATEGY"):
        assert REGISTRY.get_sample_value("livegate_scoped_stops_reducing", {"kind": kind}) == 1
        assert REGISTRY.get_sample_value("livegate_scoped_stops_closed", {"kind": kind}) == 0
    assert REGISTRY.get_sample_value("livegate_scoped_stop_reducing", labels) == 1
    assert REGISTRY.get_sample_value("livegate_scoped_stop_closed", labels) is None
    closed = _cli(stack, "scope", "close", "--kind", "strategy", "--value", "mean-rev.v2",
                  "--reason", "INC-9 worse")  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    assert REGISTRY.get_sample_value("livegate_scoped_stop_reducing", labels) is None
    assert REGISTRY.get_sample_value("livegate_scoped_stop_closed", labels) == 1


def test_cli_scope_reduce_when_open_then_at_once_and_when_closed_then_two_operators(
    stack: Stack,
) -> None:
    args = ("--kind", "strategy", "--value", "grid")

    reduced = _cli(stack, "scope", "reduce", *args, "--reason", "INC-12 unwind")
    closed = _cli(stack, "scope", "close", *args, "--reason", "INC-12 worse")
    asked = _cli(stack, "scope", "reduce", *args, "--reason", "INC-12 unwind again")
    confirmed = _cli(stack, "scope", "reduce", *args, "--reason", "ok", identity="operator2")
    listed = _cli(stack, "scope", "list")

    assert reduced.returncode == 0, reduced.stderr
    assert json.loads(reduced.stdout)["stop"]["state"] == "KILL_SWITCH_STATE_REDUCING"
    assert closed.returncode == 0, closed.stderr
    assert asked.returncode == 4, asked.stderr  # only requested: still closed
    body = json.loads(asked.stdout)["stop"]
    assert (body["state"], body["reopen_target"]) == (
        "KILL_SWITCH_STATE_CLOSED", "KILL_SWITCH_STATE_REDUCING",
    )  # fmt: skip
    assert confirmed.returncode == 0, confirmed.stderr
    assert json.loads(confirmed.stdout)["stop"]["changed_by"] == "operator2"
    assert '"state": "KILL_SWITCH_STATE_REDUCING"' in listed.stdout
