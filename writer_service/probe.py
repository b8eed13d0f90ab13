"""Permission probe: prove the session's trading permission matches its role, then keep proving."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from ib_async import Order

from writer_service.config import Role
from writer_service.errors import WriterError
from writer_service.ib_convert import contract_for, to_decimal
from writer_service.ib_session import (
    READ_ONLY_CODE,
    BrokerErrorEvent,
    IbSession,
    QueryOutcome,
    WhatIfOutcome,
)
from writer_service.orders import InstrumentSpec, SecKind
from writer_service.role_rules import is_live, is_paper

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


AccountLabel = Callable[[str], str]


def _accounts_ok(
    role: Role, configured: tuple[str, ...], managed: list[str], label: AccountLabel
) -> tuple[bool, str]:
    missing = [a for a in configured if a not in managed]
    paper = sum(1 for a in managed if is_paper(a))
    observed = f"managed={len(managed)} ({paper} paper) configured={len(configured)}"
    if missing:
        return False, f"{observed}; missing {','.join(label(a) for a in missing)}"
    if role.may_trade:
        not_live = [a for a in (*configured, *managed) if not is_live(a)]
        if not_live:
            names = ",".join(label(a) for a in not_live)
            return False, f"{observed}; live role needs live U accounts, saw {names}"
    return True, observed


def decide(
    role: Role,
    configured: tuple[str, ...],
    managed: list[str],
    queries: dict[str, Observation],
    what_if: Observation,
    label: AccountLabel = str,
) -> tuple[Verdict, tuple[Evidence, ...]]:
    """The verdict from what was observed; pure, so every combination is unit-tested.

    LABEL names an account in the evidence (the account hash, outside tests).
    """
    accounts_ok, accounts_text = _accounts_ok(role, configured, managed, label)
    evidence = [Evidence("managed_accounts", accounts_ok, accounts_text)]
    if role.may_trade:
        return _decide_trading(accounts_ok, queries, what_if, evidence)
    return _decide_non_trading(role, accounts_ok, managed, queries, what_if, evidence)


def _decide_trading(
    accounts_ok: bool,
    queries: dict[str, Observation],
    what_if: Observation,
    evidence: list[Evidence],
) -> tuple[Verdict, tuple[Evidence, ...]]:
    answers = [o.answer for o in queries.values()]
    for name, obs in queries.items():
        evidence.append(Evidence(name, obs.answer is Answer.ANSWERED, obs.text))
    evidence.append(Evidence("what_if", what_if.answer is Answer.ANSWERED, what_if.text))
    # Either read-only flavor refuses W: 321s on the queries, or queries answered and only the
    # what-if refused.
    refused = Answer.READ_ONLY in answers or what_if.answer in (Answer.READ_ONLY, Answer.REFUSED)
    if refused or not accounts_ok:
        return Verdict.MISMATCH, tuple(evidence)
    if all(a is Answer.ANSWERED for a in answers) and what_if.answer is Answer.ANSWERED:
        return Verdict.MATCHES_ROLE, tuple(evidence)
    return Verdict.INCONCLUSIVE, tuple(evidence)


def _decide_non_trading(
    role: Role,
    accounts_ok: bool,
    managed: list[str],
    queries: dict[str, Observation],
    what_if: Observation,
    evidence: list[Evidence],
) -> tuple[Verdict, tuple[Evidence, ...]]:
    """R: the session cannot trade. ABH: as R, or it trades paper accounts only.

    Read-only gateways differ: some refuse the order queries with 321 (and may still price a
    what-if, which never executes), others answer the queries and refuse the what-if. A 321
    "Read-Only" on any check is direct evidence; an answer elsewhere does not contradict it.
    """
    checks = {**queries, "what_if": what_if}
    read_only = any(o.answer is Answer.READ_ONLY for o in checks.values())
    paper_only = role is Role.ABH and bool(managed) and all(is_paper(a) for a in managed)
    if role is Role.ABH:
        live = sum(1 for a in managed if not is_paper(a))
        text = f"{live} of {len(managed)} managed accounts are not paper (DU)"
        evidence.append(Evidence("paper_accounts", paper_only or read_only, text))
    for name, obs in checks.items():
        evidence.append(_non_trading_evidence(name, obs, read_only, paper_only))
    trade_capable = what_if.answer is Answer.ANSWERED and all(
        o.answer is Answer.ANSWERED for o in queries.values()
    )
    if not accounts_ok:
        return Verdict.MISMATCH, tuple(evidence)
    if read_only or (paper_only and trade_capable):
        return Verdict.MATCHES_ROLE, tuple(evidence)
    if what_if.answer is Answer.ANSWERED:
        # Margins back and no 321 anywhere: the session prices orders for a live account.
        return Verdict.MISMATCH, tuple(evidence)
    return Verdict.INCONCLUSIVE, tuple(evidence)


def _non_trading_evidence(
    name: str, obs: Observation, read_only: bool, paper_only: bool
) -> Evidence:
    if obs.answer is Answer.READ_ONLY:
        return Evidence(name, True, obs.text)
    if obs.answer is Answer.ANSWERED and read_only:
        note = (
            " (priced, not executable; the 321s on the order queries decide)"
            if name == "what_if"
            else " (answered; the 321 on another check decides)"
        )
        return Evidence(name, True, obs.text + note)
    if obs.answer is Answer.ANSWERED and paper_only:
        return Evidence(name, True, obs.text + " (every managed account is paper)")
    return Evidence(name, read_only, obs.text)


def _refusal(event: BrokerErrorEvent) -> Observation:
    # 321 is "Error validating request" for many causes; only its Read-Only cause proves the
    # session read-only (a W writer refuses any refusal either way).
    read_only = event.code == READ_ONLY_CODE and "read-only" in event.message.lower()
    answer = Answer.READ_ONLY if read_only else Answer.REFUSED
    return Observation(answer, f"error {event.code} {event.message}")


def _query_observation(outcome: QueryOutcome) -> Observation:
    if outcome.refused is not None:
        return _refusal(outcome.refused)
    if outcome.timed_out:
        return Observation(Answer.TIMED_OUT, "no answer before the probe timeout")
    return Observation(Answer.ANSWERED, f"answered: {len(outcome.trades)} orders, no 321")


def _what_if_observation(outcome: WhatIfOutcome) -> Observation:
    if outcome.refused is not None:
        return _refusal(outcome.refused)
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


async def probe(
    session: IbSession,
    role: Role,
    configured: tuple[str, ...],
    probe_symbol: str,
    timeout_s: float,
    label: AccountLabel,
) -> ProbeResult:
    """Probe the connected session, on its loop; a failure to observe is INCONCLUSIVE, never a
    pass, and this never raises."""
    managed = session.managed_accounts()
    try:
        queries, what_if = await asyncio.wait_for(
            _gather(session, configured[0], probe_symbol, timeout_s), 3 * timeout_s + 5
        )
    except Exception as exc:  # the probe must end in a verdict, whatever broke
        # The type, or the writer's own message: an exception's text may name the gateway.
        why = exc.message if isinstance(exc, WriterError) else type(exc).__name__
        log.warning("probe could not observe", extra={"error": why})
        queries = {"probe": Observation(Answer.TIMED_OUT, f"probe failed: {why}")}
        what_if = Observation(Answer.TIMED_OUT, "not attempted")
    verdict, evidence = decide(role, configured, managed, queries, what_if, label)
    result = ProbeResult(role, tuple(managed), verdict, evidence, datetime.now(UTC))
    log_probe(result, label)
    return result


def log_probe(result: ProbeResult, label: AccountLabel) -> None:
    log.log(
        logging.INFO if result.verdict is Verdict.MATCHES_ROLE else logging.ERROR,
        "permission probe",
        extra={
            "event": "probe",
            "role": result.role.value,
            "verdict": result.verdict.value,
            "account_id_hashes": [label(a) for a in result.accounts],
            "evidence": [e.__dict__ for e in result.evidence],
        },
    )


def failed_evidence(result: ProbeResult) -> str:
    """The checks that did not pass, as one line for a reason text."""
    failed = [f"{e.check}: {e.observed}" for e in result.evidence if not e.passed]
    return "; ".join(failed) or "no check failed"
