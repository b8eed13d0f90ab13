"""Scoped stops: the values (a stop per account, principal or strategy) and their denials.

A scope is OPEN, REDUCING (cancels and position-reducing orders only, see reducing.py) or
CLOSED (cancels only)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from policy_service import reasons
from policy_service.domain import model as m

if TYPE_CHECKING:
    from policy_service.domain.ports import Store

STEP: Final = 6  # beside the kill switch: a scope is a kill switch for part of the traffic
CODE: Final = "FAILED_PRECONDITION"


class ScopeKind(enum.StrEnum):
    ACCOUNT = "ACCOUNT"
    PRINCIPAL = "PRINCIPAL"
    STRATEGY = "STRATEGY"


STOPPED_REASONS: Final = {
    ScopeKind.ACCOUNT: reasons.SCOPE_STOPPED_ACCOUNT,
    ScopeKind.PRINCIPAL: reasons.SCOPE_STOPPED_PRINCIPAL,
    ScopeKind.STRATEGY: reasons.SCOPE_STOPPED_STRATEGY,
}


@dataclass(frozen=True)
class Subject:
    """One scope a request falls in; KEY is what the row stores (an account's keyed hash)."""

    kind: ScopeKind
    key: str


@dataclass(frozen=True)
class ScopedStop:
    """A scope's row: CLOSED, REDUCING or OPEN, who changed it last, and a loosening waiting
    for its second operator, if any (REOPEN_TARGET: the state it asks, OPEN or REDUCING)."""

    kind: ScopeKind
    key: str
    state: m.SwitchState
    reason: str
    changed_by: str
    changed_at_us: int
    request_id: str
    version: int
    reopen_by: str = ""
    reopen_reason: str = ""
    reopen_request_id: str = ""
    reopen_expires_at_us: int = 0
    reopen_target: m.SwitchState = m.SwitchState.OPEN

    @property
    def closed(self) -> bool:
        return self.state is m.SwitchState.CLOSED

    @property
    def reducing(self) -> bool:
        return self.state is m.SwitchState.REDUCING

    @property
    def stopped(self) -> bool:
        """Not OPEN: CLOSED or REDUCING (what GetLiveStatus lists)."""
        return self.state is not m.SwitchState.OPEN

    def reopen_pending(self, now_us: int) -> bool:
        return self.stopped and bool(self.reopen_by) and now_us < self.reopen_expires_at_us

    def audit_detail(self) -> dict[str, str]:
        return {
            "scope_kind": self.kind.value,
            "scope": self.key,
            "scope_state": self.state.value,
            "scope_version": str(self.version),
        }


@dataclass(frozen=True)
class Revocation:
    """Which approvals a close revokes: those whose preview's COLUMN holds VALUE (and, for a
    principal, those it granted too)."""

    column: str  # previews.account_id, previews.created_by or previews.strategy
    value: str
    approved_by: str = ""


class ScopeMoved(RuntimeError):
    """The scope's row changed since it was read (another operator, another replica)."""


def subjects(account_hash: str, principals: tuple[str, ...], strategy: str) -> list[Subject]:
    """The scopes a request falls in: its account, every principal involved, its strategy."""
    found = [Subject(ScopeKind.ACCOUNT, account_hash)] if account_hash else []
    found += [Subject(ScopeKind.PRINCIPAL, p) for p in dict.fromkeys(principals) if p]
    if strategy:
        found.append(Subject(ScopeKind.STRATEGY, strategy))
    return found


def first_stop(store: Store, wanted: list[Subject]) -> m.Denial | None:
    """Step 6 for a request in WANTED's scopes: the first closed one's denial, or None.
    StoreUnavailable propagates: the caller refuses (fail closed)."""
    return check(store, wanted)[0]


def check(store: Store, wanted: list[Subject]) -> tuple[m.Denial | None, list[ScopedStop]]:
    """Step 6: the first CLOSED scope's denial (a close wins over a REDUCING), and every
    REDUCING scope among WANTED, in WANTED's order. StoreUnavailable propagates."""
    stopped = store.stopped_scopes(wanted) if wanted else []
    order = {s: i for i, s in enumerate(wanted)}
    stopped.sort(key=lambda s: order.get(Subject(s.kind, s.key), len(order)))
    closed = [s for s in stopped if s.closed]
    return (stopped_denial(closed[0]) if closed else None), [s for s in stopped if s.reducing]


def reducing_bracket(stop: ScopedStop) -> m.Denial:
    return m.Denial(
        reasons.SCOPE_REDUCING_BRACKET,
        CODE,
        STEP,
        f"the {stop.kind.value.lower()} scope only reduces positions ({stop.reason}): a "
        "bracket's entry opens one, so brackets are refused; cancels pass",
        {"scope_kind": stop.kind.value, "scope": stop.key, "version": str(stop.version)},
    )


def stopped_denial(stop: ScopedStop) -> m.Denial:
    return m.Denial(
        STOPPED_REASONS[stop.kind],
        CODE,
        STEP,
        f"the {stop.kind.value.lower()} scope is stopped ({stop.reason}); cancels still pass",
        {
            "scope_kind": stop.kind.value,
            "scope": stop.key,
            "version": str(stop.version),
            "changed_by": stop.changed_by,
        },
    )


def strategy_mismatch(previewed: str, requested: str) -> m.Denial:
    return m.Denial(
        reasons.STRATEGY_MISMATCH,
        CODE,
        8,
        "the write's strategy differs from its preview's",
        {"previewed": previewed, "requested": requested},
    )
