"""The paper-to-live checklist acknowledgement: who, when, for which policy and version, how old.

The config flag `live_trading.paper_to_live_checklist_acknowledged` alone enables nothing any
more: a write also needs an acknowledgement recorded by an operator call (audited), made for
the deployed risk policy's digest and this livegate version, and younger than the configured
number of days. A new policy digest or version needs a new walk-through.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.denials import scope_denial
from policy_service.domain.enablement import Condition
from policy_service.domain.ports import StoreUnavailable

if TYPE_CHECKING:
    from policy_service.domain.gate import Gate

log = logging.getLogger(__name__)
SCOPE = "checklist.acknowledge"
CONDITION = "checklist.acknowledgement"


@dataclass(frozen=True)
class Acknowledgement:
    acknowledged_by: str
    acknowledged_at_us: int
    risk_policy_id: str
    risk_policy_digest: str
    livegate_version: str
    note: str
    audit_event_id: int = 0


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str  # UPPER_SNAKE when not valid
    detail: str
    expires_at_us: int


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).isoformat(timespec="seconds")


def judge(
    ack: Acknowledgement | None, digest: str, version: str, max_age_us: int, now_us: int
) -> Verdict:
    if ack is None:
        return Verdict(False, reasons.CHECKLIST_NOT_ACKNOWLEDGED, "no acknowledgement recorded", 0)
    expires = ack.acknowledged_at_us + max_age_us
    if ack.risk_policy_digest != digest:
        detail = f"acknowledged risk policy digest {ack.risk_policy_digest[:12]}..., deployed "
        return Verdict(False, reasons.CHECKLIST_OUTDATED, detail + f"{digest[:12]}...", expires)
    if ack.livegate_version != version:
        detail = f"acknowledged livegate {ack.livegate_version}, running {version}"
        return Verdict(False, reasons.CHECKLIST_OUTDATED, detail, expires)
    if now_us >= expires:
        return Verdict(False, reasons.CHECKLIST_EXPIRED, f"expired at {_iso(expires)}", expires)
    detail = f"by {ack.acknowledged_by} at {_iso(ack.acknowledged_at_us)}, until {_iso(expires)}"
    return Verdict(True, "", detail, expires)


class Checklist:
    """Step 4's recorded acknowledgement, and the operator call that records one.

    A valid acknowledgement stays valid until its known expiry (or a restart with another
    policy or version, which changes what it is judged against), so once one is found the hot
    path reads nothing; until then each write reads the latest from the store.
    """

    def __init__(self, gate: Gate):
        self._gate = gate
        self._lock = threading.Lock()
        self._valid: Acknowledgement | None = None

    @property
    def _digest(self) -> str:
        return self._gate.policy.digest()

    def latest(self) -> tuple[Acknowledgement | None, Verdict]:
        try:
            return self._read()
        except StoreUnavailable:
            return self._judged(None)

    def _read(self) -> tuple[Acknowledgement | None, Verdict]:
        return self._judged(self._gate.store.latest_acknowledgement())

    def _judged(self, ack: Acknowledgement | None) -> tuple[Acknowledgement | None, Verdict]:
        gate = self._gate
        s = gate.settings
        return ack, judge(
            ack, self._digest, s.livegate_version, s.checklist_max_age_us, gate.clock.now_us()
        )

    def denial(self, now_us: int) -> m.Denial | None:
        """Step 4's refusal, or None. Raises StoreUnavailable when no valid acknowledgement is
        known and the store cannot say: unknown is not absent (the gate asks again later)."""
        s = self._gate.settings
        with self._lock:
            cached = self._valid
        if cached is not None:
            verdict = judge(
                cached, self._digest, s.livegate_version, s.checklist_max_age_us, now_us
            )
            if verdict.valid:
                return None
        ack, verdict = self._read()
        if verdict.valid:
            with self._lock:
                self._valid = ack
            return None
        with self._lock:
            self._valid = None
        return m.Denial(
            verdict.reason,
            "FAILED_PRECONDITION",
            4,
            f"live trading is not enabled: checklist {verdict.detail}",
            {"condition": CONDITION, "detail": verdict.detail},
        )

    def condition(self) -> Condition:
        _ack, verdict = self.latest()
        return Condition(CONDITION, verdict.valid, verdict.detail, verdict.reason)

    def acknowledge(self, call: m.Call, digest: str, note: str) -> Acknowledgement | m.Denial:
        gate = self._gate
        denial = scope_denial(call, SCOPE)
        if denial is not None:
            return gate.refuse(call, denial)
        if digest != self._digest:
            return gate.refuse(
                call,
                m.Denial(
                    reasons.CHECKLIST_DIGEST_MISMATCH,
                    "FAILED_PRECONDITION",
                    4,
                    "the acknowledgement names another risk policy than the deployed one",
                    {"given": digest[:64], "deployed": self._digest},
                ),
            )
        now = gate.clock.now_us()
        ack = Acknowledgement(
            call.principal, now, gate.policy.policy_id, digest, gate.settings.livegate_version, note
        )
        detail = {"risk_policy_digest": digest, "livegate_version": ack.livegate_version,
                  "note": note}  # fmt: skip
        draft = gate.draft(call, "RECORDED", None, gate_step=0, detail=detail)
        try:
            event_id = gate.store.record_acknowledgement(ack, draft, now)
        except StoreUnavailable:
            return m.Denial(reasons.AUDIT_UNAVAILABLE, "UNAVAILABLE", 7, "storage unavailable")
        log.warning("paper-to-live checklist acknowledged", extra={"principal": call.principal})
        return dataclasses.replace(ack, audit_event_id=event_id)
