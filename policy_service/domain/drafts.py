"""Audit drafts of gate decisions: who asked, the account's keyed hash, the step and numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft


class Drafts:
    def __init__(self, account_hash: Callable[[str], str], risk_policy_id: str):
        self._account_hash = account_hash
        self._risk_policy_id = risk_policy_id

    def log_ids(self, ids: dict[str, Any]) -> dict[str, Any]:
        """IDS for a log line: the account as its keyed hash, never in clear."""
        fields = {k: v for k, v in ids.items() if k != "account_id"}
        fields["account_id_hash"] = self._account_hash(ids.get("account_id", ""))
        return fields

    def draft(
        self, call: m.Call, outcome: str, denial: m.Denial | None = None, **fields: Any
    ) -> AuditDraft:
        """FIELDS: AuditDraft's (account_id is hashed; detail is merged over the denial's
        metadata; gate_step when there is no denial, 12 by default)."""
        detail = dict(denial.metadata) if denial else {}
        detail.update(fields.pop("detail", {}))
        account_id = fields.pop("account_id", "")
        step = fields.pop("gate_step", 12)
        return AuditDraft(
            method=call.method,
            request_id=call.request_id,
            principal=call.principal,
            outcome=outcome,
            status_code=denial.code if denial else "OK",
            reason=denial.reason if denial else "",
            gate_step=denial.step if denial else step,
            account_id_hash=self._account_hash(account_id),
            risk_policy_id=self._risk_policy_id,
            detail={k: str(v) for k, v in detail.items()},
            **fields,
        )
