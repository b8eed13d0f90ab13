"""One keyed account hash across the writer's log lines and the policy's audit events."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.logs import captured_lines, lines_naming
from tests.support.stack import live_stack
from tests.support.vault import DevVault
from tests.support.writers import ACCOUNT


def test_submit_when_traced_across_services_then_writer_lines_and_audit_share_the_hash(
    dev_pki: Path, tmp_path: Path, stack_vault: DevVault
) -> None:
    with captured_lines() as lines, live_stack(dev_pki, tmp_path, stack_vault) as stack:
        stack.submit(*stack.approved())
        audited = stack.policy.service.gate.account_hash(ACCOUNT)
    parsed = [json.loads(line) for line in lines]
    [handover] = [p for p in parsed if p["msg"] == "broker credentials loaded from vault"]
    assert handover["account_id_hashes"] == [audited]
    assert lines_naming(lines, [ACCOUNT]) == []
