"""Start-up permission probe: prove the session's trading permission matches the role."""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from ib_async import Order

from writer_service.config import Role
from writer_service.ib_convert import contract_for, to_decimal
from writer_service.ib_session import READ_ONLY_CODE, IbSession, QueryOutcome, WhatIfOutcome
from writer_service.orders import InstrumentSpec, SecKind

log = logging.getLogger("livegate.writer.probe")

# A what-if is priced far from any market: it is never transmitted, and even if a gateway
# ignored the flag, a 1-share bid at 1.00 would not fill.
WHAT_IF_PRICE: Final = Decimal("1.00")


class Verdict(enum.Enum):
    MATCHES_ROLE = "MATCHES_ROLE"
    MISMATCH = "MISMATCH"
    INCONCLUSIVE = "INCONCLUSIVE"


class Answer(enum.Enum):
    """How one probe check was answered, reduced to what the verdict needs."""

    ANSWERED = "answered"
    READ_ONLY = "refused 321"
    REFUSED = "refused"
    TIMED_OUT = "timed out"


@dataclass(frozen=True)
class Evidence:
    check: str
    passed: bool
    observed: str


@dataclass(frozen=True)
class Observation:
    answer: Answer
    text: str


@dataclass(frozen=True)
class ProbeResult:
    role: Role
    accounts: tuple[str, ...]
    verdict: Verdict
    evidence: tuple[Evidence, ...]
    probed_at: datetime


def _accounts_ok(role: Role, configured: tuple[str, ...], managed: list[str]) -> tuple[bool, str]:
    missing = [a for a in configured if a not in managed]
    paper = [a for a in (*configured, *managed) if a.startswith("DU")]
    observed = f"managed={','.join(managed) or '-'} configured={','.join(configured)}"
    if missing:
        return False, f"{observed}; missing {','.join(missing)}"
    if role.may_trade and (paper or not all(a.startswith("U") for a in configured)):
        return False, f"{observed}; live role needs live U accounts, saw paper or other"
    return True, observed


def decide(
    role: Role,
    configured: tuple[str, ...],
    managed: list[str],
    queries: dict[str, Observation],
    what_if: Observation,
) -> tuple[Verdict, tuple[Evidence, ...]]:
    """The verdict from what was observed; pure, so every combination is unit-tested."""
    accounts_ok, accounts_text = _accounts_ok(role, configured, managed)
    evidence = [Evidence("managed_accounts", accounts_ok, accounts_text)]
    answers = [o.answer for o in queries.values()]
    if role.may_trade:
        for name, obs in queries.items():
            evidence.append(Evidence(name, obs.answer is Answer.ANSWERED, obs.text))
        evidence.append(Evidence("what_if", what_if.answer is Answer.ANSWERED, what_if.text))
        proven_read_only = Answer.READ_ONLY in answers or what_if.answer in (
            Answer.READ_ONLY,
            Answer.REFUSED,
        )
        if proven_read_only or not accounts_ok:
            return Verdict.MISMATCH, tuple(evidence)
        if all(a is Answer.ANSWERED for a in answers) and what_if.answer is Answer.ANSWERED:
            return Verdict.MATCHES_ROLE, tuple(evidence)
        return Verdict.INCONCLUSIVE, tuple(evidence)
    for name, obs in queries.items():
        evidence.append(Evidence(name, obs.answer is Answer.READ_ONLY, obs.text))
    read_only_proven = all(a is Answer.READ_ONLY for a in answers)
    # The 321s on the order queries are the proof. Some read-only gateways still price a
    # what-if (it never executes), so margins there do not contradict it; without the 321s
    # they would be one more sign the session can trade.
    what_if_text = what_if.text
    if what_if.answer is Answer.ANSWERED and read_only_proven:
        what_if_text += " (priced, not executable; the 321s on the order queries decide)"
    what_if_ok = what_if.answer is not Answer.ANSWERED or read_only_proven
    evidence.append(Evidence("what_if", what_if_ok, what_if_text))
    if Answer.ANSWERED in answers or not accounts_ok:
        return Verdict.MISMATCH, tuple(evidence)
    if read_only_proven:
        return Verdict.MATCHES_ROLE, tuple(evidence)
    if what_if.answer is Answer.ANSWERED:
        return Verdict.MISMATCH, tuple(evidence)
    return Verdict.INCONCLUSIVE, tuple(evidence)


def _query_observation(outcome: QueryOutcome) -> Observation:
    if outcome.refused is not None:
        answer = Answer.READ_ONLY if outcome.refused.code == READ_ONLY_CODE else Answer.REFUSED
        return Observation(answer, f"error {outcome.refused.code} {outcome.refused.message}")
    if outcome.timed_out:
        return Observation(Answer.TIMED_OUT, "no answer before the probe timeout")
    return Observation(Answer.ANSWERED, f"answered: {len(outcome.trades)} orders, no 321")


def _what_if_observation(outcome: WhatIfOutcome) -> Observation:
    if outcome.refused is not None:
        answer = Answer.READ_ONLY if outcome.refused.code == READ_ONLY_CODE else Answer.REFUSED
        return Observation(answer, f"error {outcome.refused.code} {outcome.refused.message}")
    if outcome.state is None:
        return Observation(Answer.TIMED_OUT, "no answer before the probe timeout")
    init = to_decimal(outcome.state.initMarginChange)
    maint = to_decimal(outcome.state.maintMarginChange)
    if init is None:
        return Observation(Answer.TIMED_OUT, "answered without margin values")
    return Observation(
        Answer.ANSWERED, f"margin values: initMarginChange={init} maintMarginChange={maint}"
    )


async def _gather(
    session: IbSession, account: str, probe_symbol: str, timeout_s: float
) -> tuple[dict[str, Observation], Observation]:
    queries = {
        "open_orders_query": _query_observation(await session.open_orders(timeout_s)),
        "completed_orders_query": _query_observation(await session.completed_orders(timeout_s)),
    }
    contract = contract_for(InstrumentSpec(probe_symbol, SecKind.STOCK))
    order = Order(
        action="BUY",
        totalQuantity=1,
        orderType="LMT",
        lmtPrice=WHAT_IF_PRICE,  # type: ignore[arg-type]
        tif="DAY",
        account=account,
        transmit=True,
    )
    what_if = _what_if_observation(await session.what_if(contract, order, timeout_s))
    return queries, what_if


def run_probe(
    session: IbSession,
    role: Role,
    configured: tuple[str, ...],
    probe_symbol: str,
    timeout_s: float,
) -> ProbeResult:
    """Probe the connected session; a failure to observe is INCONCLUSIVE, never a pass."""
    managed = session.managed_accounts()
    try:
        queries, what_if = session.call(
            _gather(session, configured[0], probe_symbol, timeout_s), 3 * timeout_s + 5
        )
    except Exception as exc:  # the probe must end in a verdict, whatever broke
        log.warning("probe could not observe", extra={"error": repr(exc)})
        queries = {"probe": Observation(Answer.TIMED_OUT, f"probe failed: {exc!r}")}
        what_if = Observation(Answer.TIMED_OUT, "not attempted")
    verdict, evidence = decide(role, configured, managed, queries, what_if)
    result = ProbeResult(role, tuple(managed), verdict, evidence, datetime.now(UTC))
    log_probe(result)
    return result


def log_probe(result: ProbeResult) -> None:
    log.log(
        logging.INFO if result.verdict is Verdict.MATCHES_ROLE else logging.ERROR,
        "permission probe",
        extra={
            "event": "probe",
            "role": result.role.value,
            "verdict": result.verdict.value,
            "accounts": list(result.accounts),
            "evidence": [e.__dict__ for e in result.evidence],
        },
    )


def evidence_json(result: ProbeResult) -> str:
    return json.dumps([e.__dict__ for e in result.evidence])
