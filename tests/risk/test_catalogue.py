"""Every reason the risk controls send is in the catalogue and in the runbook's row of its step."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_service import reasons

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "live-runbook.md"
# Issue 19's reasons and the gate step whose runbook row names them.
STEPS = {
    "CHECKLIST_NOT_ACKNOWLEDGED": "4", "CHECKLIST_EXPIRED": "4", "CHECKLIST_OUTDATED": "4",
    "PRINCIPAL_STOPPED": "6", "BLACKOUT_WINDOW": "9", "ORDER_TYPE_NOT_ALLOWED": "9",
    "PRICE_NOT_ON_TICK": "9", "REFERENCE_DATA_UNAVAILABLE": "9", "REFERENCE_DATA_STALE": "9",
    "MARKET_CLOSED": "9", "OUTSIDE_REGULAR_HOURS": "9", "MARGIN_INSUFFICIENT": "9",
    "POSITION_LIMIT_EXCEEDED": "9", "GROSS_POSITION_EXCEEDED": "9",
    "EXPOSURE_LIMIT_EXCEEDED": "9", "DUPLICATE_ORDER_SUSPECTED": "9",
    "ORDER_EFFICIENCY_RATIO_EXCEEDED": "9", "CHECKLIST_DIGEST_MISMATCH": "operator calls",
    "PRINCIPAL_NOT_STOPPED": "operator calls",
    # Issue 18's guarded reopen.
    "KILL_SWITCH_OPEN_REFUSED": "4", "REOPEN_AUDIT_UNVERIFIED": "7",
    "REOPEN_SAME_OPERATOR": "6", "REOPEN_ALREADY_PENDING": "6", "REOPEN_NOT_REQUESTED": "6",
    "REOPEN_EXPIRED": "6",
}  # fmt: skip


def _rows() -> dict[str, str]:
    rows = {}
    for line in RUNBOOK.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        # Rows that name reasons; other tables with numbered rows (exit codes) are not steps.
        if len(cells) > 3 and cells[1] and cells[1][0].isalnum() and "`" in line:
            key = cells[1].split(" ")[0] if cells[1][0].isdigit() else cells[1]
            rows.setdefault(key, line)
    return rows


@pytest.mark.parametrize(("reason", "step"), sorted(STEPS.items()))
def test_runbook_when_a_risk_reason_is_sent_then_its_step_row_names_it(
    reason: str, step: str
) -> None:
    assert getattr(reasons, reason) == reason
    assert f"`{reason}`" in _rows()[step]
