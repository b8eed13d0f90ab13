"""Step 4 (live enablement) and step 5 (account allowlist), and the live-status conditions."""

from __future__ import annotations

from dataclasses import dataclass

from policy_service import reasons
from policy_service.domain.model import Denial
from policy_service.domain.risk_policy import RiskPolicy
from policy_service.domain.settings import GateSettings

MIN_RETENTION_DAYS = 2555


@dataclass(frozen=True)
class Condition:
    name: str
    passed: bool
    detail: str
    reason: str = ""


def static_conditions(settings: GateSettings, policy: RiskPolicy) -> list[Condition]:
    """Conditions that only change with a restart; computed once, checked on every write."""
    s = settings
    return [
        Condition(
            "live_trading.enabled",
            s.live_enabled,
            f"live_trading.enabled={str(s.live_enabled).lower()}",
            reasons.LIVE_TRADING_DISABLED,
        ),
        Condition(
            "safety.live_trading_enabled",
            s.safety_enabled,
            f"safety.live_trading_enabled={str(s.safety_enabled).lower()}",
            reasons.LIVE_TRADING_DISABLED,
        ),
        Condition(
            "live_trading.paper_to_live_checklist_acknowledged",
            s.checklist_acknowledged,
            f"acknowledged={str(s.checklist_acknowledged).lower()}",
            reasons.CHECKLIST_NOT_ACKNOWLEDGED,
        ),
        Condition(
            "live_trading.risk_policy_id",
            s.configured_policy_id == policy.policy_id,
            f"configured={s.configured_policy_id!r} deployed={policy.policy_id!r}",
            reasons.RISK_POLICY_MISMATCH,
        ),
        Condition(
            "audit.retention",
            s.retention_days >= MIN_RETENTION_DAYS and s.export_before_purge,
            f"retention_days={s.retention_days} export_before_purge="
            f"{str(s.export_before_purge).lower()} (need >= {MIN_RETENTION_DAYS} and true)",
            reasons.AUDIT_RETENTION_INSUFFICIENT,
        ),
        Condition(
            "approvals.four_eyes",
            s.four_eyes,
            f"approvals.four_eyes={str(s.four_eyes).lower()} (an approver other than the "
            "preview's creator)",
            reasons.FOUR_EYES_DISABLED,
        ),
    ]


def enablement_denial(conditions: list[Condition]) -> Denial | None:
    for cond in conditions:
        if not cond.passed:
            return Denial(
                cond.reason,
                "FAILED_PRECONDITION",
                4,
                f"live trading is not enabled: {cond.detail}",
                {"condition": cond.name, "detail": cond.detail},
            )
    return None


def account_denial(settings: GateSettings, account_id: str, account_hash: str) -> Denial | None:
    if account_id in settings.allowed_accounts:
        return None
    return Denial(
        reasons.ACCOUNT_NOT_ALLOWED,
        "PERMISSION_DENIED",
        5,
        "the account is not in live_trading.allowed_accounts",
        {"account_id_hash": account_hash},
    )
