"""What the gate needs from outside: a clock, a store and a writer; fakes stand in in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.order_life import OrderStatusReport
from policy_service.domain.reference import AccountState, ContractDetails, Fill, Margin
from policy_service.domain.usage import Usage, UsageQuery
from policy_service.domain.writer_switch import WriterSwitch

if TYPE_CHECKING:
    from policy_service.domain.checklist import Acknowledgement
    from policy_service.domain.leases import Lease
    from policy_service.domain.reopen import OpenClaim, ReopenRequest
    from policy_service.domain.runaway import PrincipalStop
    from policy_service.domain.scopes import Revocation, ScopedStop, ScopeKind, Subject


class StoreUnavailable(RuntimeError):
    """The database could not complete a transaction; nothing of it was committed."""


@dataclass(frozen=True)
class PendingWrite:
    key: str
    request_hash: str
    kind: m.Kind
    account_hash: str
    approval_ids: tuple[str, ...]
    notional: Decimal
    new_orders: int
    day: str
    # Since issue 19: who wrote it (a runaway stop finds the principal of a fill by its key),
    # what it can add to its instrument (con_id, buy, sell), its duplicate fingerprint, the
    # broker order a modify changes, and the order messages it counts towards the day's ratio.
    principal: str = ""
    con_id: int = 0
    buy_qty: Decimal = Decimal(0)
    sell_qty: Decimal = Decimal(0)
    fingerprint: str = ""
    modifies_order: int = 0
    messages: int = 1


@dataclass(frozen=True)
class IdemRecord:
    key: str
    request_hash: str
    kind: m.Kind
    account_hash: str
    status: str  # PENDING, UNKNOWN, SUCCEEDED, REFUSED
    approval_ids: tuple[str, ...]
    notional: Decimal
    new_orders: int
    day: str
    created_at_us: int
    updated_at_us: int
    outcome: Mapping[str, Any] | None


@dataclass(frozen=True)
class BeginResult:
    started: bool = False
    audit_event_id: int = 0
    existing: IdemRecord | None = None
    denial: m.Denial | None = None


class Clock(Protocol):
    def now_us(self) -> int: ...


class Store(Protocol):
    def reading(self) -> AbstractContextManager[None]: ...
    def append_audit(self, draft: AuditDraft, now_us: int) -> int: ...
    def audit_available(self) -> bool: ...
    def kill_switch(self) -> m.KillSwitch: ...
    def set_kill_switch(
        self,
        state: m.SwitchState,
        reason: str,
        changed_by: str,
        request_id: str,
        draft: AuditDraft,
        now_us: int,
        claim: OpenClaim | None = None,
    ) -> tuple[m.KillSwitch, int]:
        """Store STATE and its audit event in one transaction; a CLOSED (and a REDUCING from
        OPEN) also revokes, in it,
        every approval outstanding (listed in the event's detail: revoked_approval_ids) and
        cancels a pending reopen. An open with CLAIM raises SwitchMoved (nothing written)
        unless the claim still holds under the switch's lock."""
        ...

    def pending_reopen(self) -> ReopenRequest | None: ...
    def reopen(self, reopen_id: str) -> ReopenRequest | None: ...
    def request_reopen(
        self,
        req: ReopenRequest,
        draft: AuditDraft,
        now_us: int,
        from_state: m.SwitchState = m.SwitchState.CLOSED,
    ) -> int:
        """Store REQ (superseding an older pending one) with its audit event; SwitchMoved
        when the switch is no longer FROM_STATE (CLOSED or REDUCING) at REQ's version."""
        ...

    def save_previews(self, items: Sequence[m.Preview], draft: AuditDraft, now_us: int) -> int: ...
    def get_previews(self, ids: Iterable[str]) -> dict[str, m.Preview]: ...
    def save_approval(
        self, approval: m.Approval, comment: str, draft: AuditDraft, now_us: int
    ) -> int: ...
    def get_approvals(self, ids: Iterable[str]) -> dict[str, m.Approval]: ...
    def get_record(self, key: str) -> IdemRecord | None: ...
    def usage(self, account_hash: str, day: str, now_us: int, query: UsageQuery = ...) -> Usage: ...
    def begin(
        self,
        pending: PendingWrite,
        check_usage: Callable[[Usage], m.Denial | None],
        draft: AuditDraft,
        now_us: int,
        query: UsageQuery = ...,
    ) -> BeginResult: ...
    def finish(
        self,
        key: str,
        status: str,
        outcome: Mapping[str, Any] | None,
        opened: Sequence[int],
        closed: Sequence[int],
        draft: AuditDraft,
        now_us: int,
    ) -> int: ...
    def mark_unknown(self, key: str, draft: AuditDraft, now_us: int) -> int: ...
    def claim_for_settlement(self, key: str, now_us: int, stale_before_us: int) -> bool: ...
    def open_order_ids(self, account_hash: str) -> set[int]: ...
    def unsettled_keys(self, limit: int) -> list[tuple[str, str]]: ...
    def forget_open_orders(
        self, account_hash: str, broker_order_ids: Iterable[int], now_us: int = ...
    ) -> int: ...
    def prune_rate_buckets(self, before_s: int) -> int: ...
    def prune_ended_orders(self, before_us: int) -> int: ...
    def latest_acknowledgement(self) -> Acknowledgement | None: ...
    def record_acknowledgement(
        self, ack: Acknowledgement, draft: AuditDraft, now_us: int
    ) -> int: ...
    def record_fills(self, account_hash: str, fills: Sequence[Fill], now_us: int = 0) -> int: ...
    def record_statuses(
        self, account_hash: str, reports: Sequence[OrderStatusReport], now_us: int
    ) -> int: ...
    def recent_fills(self, account_hash: str, since_us: int) -> list[tuple[str, int, int]]: ...
    def principal_stops(self) -> list[PrincipalStop]: ...
    def scoped_stops(self) -> list[ScopedStop]: ...
    def closed_scopes(self, wanted: Sequence[Subject]) -> list[ScopedStop]: ...
    def stopped_scopes(self, wanted: Sequence[Subject]) -> list[ScopedStop]: ...
    def key_con_ids(self, keys: Sequence[str]) -> dict[str, int]: ...
    def scoped_stop(self, kind: ScopeKind, key: str) -> ScopedStop | None: ...
    def save_scoped_stop(
        self,
        stop: ScopedStop,
        draft: AuditDraft,
        now_us: int,
        revoke: Revocation | None = None,
    ) -> tuple[ScopedStop, dict[str, str], int]:
        """Store STOP with its audit event (and, for a close, the revocation of REVOKE's
        approvals) in one transaction; ScopeMoved when the row moved since it was read."""
        ...

    def stop_principal(self, stop: PrincipalStop, draft: AuditDraft) -> bool: ...
    def leases(self) -> list[Lease]: ...
    def lease(self, principal: str) -> Lease | None: ...
    def save_lease(
        self, lease: Lease, expected: Lease | None, draft: AuditDraft | None, now_us: int
    ) -> int:
        """Store LEASE over EXPECTED (None: no row yet) with DRAFT's event, if any; LeaseMoved
        (nothing written) when the row is no longer EXPECTED."""
        ...

    def claim_lapsed(
        self, replica: str, now_us: int, stale_before_us: int, new_request_id: str
    ) -> list[Lease]: ...
    def refresh_claim(self, lease: Lease, now_us: int, **changes: Any) -> Lease | None: ...
    def principal_open_orders(self, principal: str) -> list[tuple[str, int]]: ...
    def reset_principal_stop(
        self, principal: str, by: str, draft: AuditDraft, now_us: int
    ) -> PrincipalStop | None: ...


@dataclass(frozen=True)
class CancelledOrder:
    """One order a cancel-all targeted, as the writer's read-back afterwards shows it."""

    broker_order_id: int
    order_ref: str
    account_id: str
    status: str


@dataclass(frozen=True)
class CancelAllResult:
    cancelled: tuple[CancelledOrder, ...]
    # Not shown cancelled: still working, filled instead, or not confirmed.
    still_working: tuple[CancelledOrder, ...]
    # Working orders livegate did not place, left alone (0 with broker_wide).
    foreign_left: int
    broker_wide: bool


class WriterError(Exception):
    """A writer call failed. kind: UNAVAILABLE (not sent), UNKNOWN (maybe sent), REFUSED,
    NOT_FOUND (from the status code alone; what the reason means is the gate's to decide).
    metadata: the writer's ErrorInfo metadata (the broker's code and messages, an order's
    state)."""

    def __init__(
        self,
        kind: str,
        code: str,
        reason: str,
        message: str,
        metadata: Mapping[str, str] | None = None,
    ):
        super().__init__(f"{kind} {code} {reason}: {message}")
        self.kind = kind
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata: Mapping[str, str] = dict(metadata or {})


class Writer(Protocol):
    """The writer service as the gate sees it; raises WriterError."""

    def submit(
        self, request_id: str, account_id: str, order: m.OrderSpec, key: str, settle: bool = False
    ) -> m.BrokerOrder: ...
    def cancel(
        self, request_id: str, account_id: str, broker_order_id: int, key: str
    ) -> m.BrokerOrder: ...
    def modify(
        self, request_id: str, account_id: str, broker_order_id: int, changes: m.Changes, key: str
    ) -> m.BrokerOrder: ...
    def bracket(
        self,
        request_id: str,
        account_id: str,
        legs: tuple[m.OrderSpec, m.OrderSpec, m.OrderSpec],
        key: str,
        settle: bool = False,
    ) -> tuple[m.BrokerOrder, m.BrokerOrder, m.BrokerOrder]: ...
    def get_order(
        self, account_id: str, broker_order_id: int = 0, order_ref: str = ""
    ) -> m.BrokerOrder: ...
    def get_quote(self, instrument: m.Instrument) -> m.Quote: ...
    def set_kill_switch(
        self,
        request_id: str,
        state: m.SwitchState,
        reason: str,
        version: int,
        resend: bool = False,
    ) -> WriterSwitch: ...
    def cancel_all(
        self, request_id: str, reason: str, broker_wide: bool = False
    ) -> CancelAllResult: ...
    def permission_ok(self) -> tuple[bool, str]: ...
    def open_order_ids(self, account_id: str) -> list[int]: ...
    def contract_details(self, instrument: m.Instrument) -> ContractDetails: ...
    def account_state(self, account_id: str) -> AccountState: ...
    def preview_margin(self, request_id: str, account_id: str, order: m.OrderSpec) -> Margin: ...
    def fills(self, account_id: str, since_us: int, refresh: bool = False) -> list[Fill]: ...
    def order_statuses(self, account_id: str, since_us: int = 0) -> list[OrderStatusReport]: ...
