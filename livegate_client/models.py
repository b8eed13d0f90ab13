"""What the client takes and returns: frozen dataclasses, Decimal money, aware datetimes."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal


class Action(enum.Enum):
    UNSPECIFIED = 0
    BUY = 1
    SELL = 2


class OrderType(enum.Enum):
    UNSPECIFIED = 0
    LIMIT = 1
    MARKET = 2
    STOP = 3
    STOP_LIMIT = 4


class TimeInForce(enum.Enum):
    UNSPECIFIED = 0
    DAY = 1
    GTC = 2


class SecType(enum.Enum):
    UNSPECIFIED = 0
    STOCK = 1
    ETF = 2
    FUTURE = 3
    OPTION = 4


class KillSwitchState(enum.Enum):
    UNSPECIFIED = 0
    OPEN = 1
    CLOSED = 2
    # Cancels pass; orders only where they reduce a position without crossing zero.
    REDUCING = 3


class LeaseState(enum.Enum):
    UNSPECIFIED = 0
    ACTIVE = 1
    LAPSED = 2
    STOPPED = 3
    RELEASED = 4


class WriterSwitchState(enum.Enum):
    UNSPECIFIED = 0
    CONFIRMED_CLOSED = 1
    CONFIRMED_OPEN = 2
    NOT_CONFIRMED = 3
    CONFIRMED_REDUCING = 4


class PreviewKind(enum.Enum):
    UNSPECIFIED = 0
    ORDER = 1
    MODIFY = 2
    BRACKET_LEG = 3


class BracketLeg(enum.Enum):
    UNSPECIFIED = 0
    PARENT = 1
    TAKE_PROFIT = 2
    STOP_LOSS = 3


@dataclass(frozen=True)
class Instrument:
    symbol: str
    sec_type: SecType = SecType.STOCK
    exchange: str = ""  # empty: SMART
    currency: str = ""  # empty: USD
    primary_exchange: str = ""


@dataclass(frozen=True)
class Order:
    instrument: Instrument
    action: Action
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    outside_rth: bool = False

    @classmethod
    def limit(
        cls,
        symbol: str,
        action: Action,
        quantity: Decimal,
        limit_price: Decimal,
        time_in_force: TimeInForce = TimeInForce.DAY,
    ) -> Order:
        """A limit order on a stock, the common case."""
        return cls(
            Instrument(symbol), action, quantity, OrderType.LIMIT, limit_price, None, time_in_force
        )


@dataclass(frozen=True)
class OrderChanges:
    """The bounded changes a modify may make; at least one must be set."""

    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None


@dataclass(frozen=True)
class LimitCheck:
    name: str
    passed: bool
    reason: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class Preview:
    preview_id: str
    kind: PreviewKind
    account_id: str
    order: Order | None
    reference_price: Decimal | None
    estimated_notional: Decimal | None
    checks: tuple[LimitCheck, ...]
    would_pass: bool
    risk_policy_id: str
    created_by: str
    created_at: dt.datetime | None
    expires_at: dt.datetime | None
    broker_order_id: int = 0
    changes: OrderChanges | None = None
    group_id: str = ""
    leg: BracketLeg = BracketLeg.UNSPECIFIED
    # The strategy tag the preview was made under ("" for none); its writes must carry it.
    strategy: str = ""


@dataclass(frozen=True)
class BracketPreview:
    group_id: str
    parent: Preview
    take_profit: Preview
    stop_loss: Preview


@dataclass(frozen=True)
class Approval:
    approval_id: str
    preview_id: str
    approved_by: str
    created_at: dt.datetime | None
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class BrokerMessage:
    code: int
    message: str
    broker_order_id: int


@dataclass(frozen=True)
class BrokerOrder:
    broker_order_id: int
    perm_id: int
    account_id: str
    order: Order | None
    status: str
    filled: Decimal | None
    remaining: Decimal | None
    avg_fill_price: Decimal | None
    order_ref: str
    parent_id: int = 0
    oca_group: str = ""
    messages: tuple[BrokerMessage, ...] = ()


@dataclass(frozen=True)
class WriteResult:
    """A settled submit, cancel or modify: the order as the broker holds it."""

    order: BrokerOrder
    replayed: bool  # the recorded outcome of an earlier attempt with this key
    audit_event_id: int
    idempotency_key: str
    request_id: str
    attempts: int


@dataclass(frozen=True)
class BracketResult:
    parent: BrokerOrder
    take_profit: BrokerOrder
    stop_loss: BrokerOrder
    replayed: bool
    audit_event_id: int
    idempotency_key: str
    request_id: str
    attempts: int


@dataclass(frozen=True)
class ReopenRequest:
    """A reopen one operator requested; another confirms it (confirm_reopen) before expiry."""

    reopen_id: str
    requested_by: str
    reason: str
    request_id: str
    requested_at: dt.datetime | None
    expires_at: dt.datetime | None
    switch_version: int
    # What the confirmation applies: OPEN, or REDUCING (from CLOSED).
    target_state: KillSwitchState = KillSwitchState.OPEN


@dataclass(frozen=True)
class KillSwitch:
    state: KillSwitchState
    reason: str
    changed_by: str
    changed_at: dt.datetime | None
    version: int
    pending_reopen: ReopenRequest | None = None


@dataclass(frozen=True)
class InFlightWrite:
    request_id: str
    operation: str
    idempotency_key: str
    broker_order_id: int


@dataclass(frozen=True)
class KillSwitchChange:
    kill_switch: KillSwitch
    writer_synced: bool
    writer_state: WriterSwitchState
    cancelled_orders: int
    audit_event_id: int
    writer_in_flight: tuple[InFlightWrite, ...] = ()


@dataclass(frozen=True)
class EnablementCondition:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class LiveStatus:
    live_enabled: bool
    conditions: tuple[EnablementCondition, ...]
    kill_switch: KillSwitch | None
    risk_policy_id: str


@dataclass(frozen=True)
class Lease:
    """The caller's dead-man lease: renew it before expires_at, or the policy closes the
    caller's principal scope and cancels the orders livegate placed for it."""

    principal: str
    state: LeaseState
    ttl_s: float
    renewed_at: dt.datetime | None
    expires_at: dt.datetime | None
    claimed_by: str
    scope_closed_at: dt.datetime | None
    stopped_at: dt.datetime | None
    released_at: dt.datetime | None
    attempts: int


@dataclass(frozen=True)
class AuditEvent:
    event_id: int
    occurred_at: dt.datetime | None
    method: str
    request_id: str
    principal: str
    account_id_hash: str
    preview_id: str
    approval_id: str
    idempotency_key: str
    broker_order_id: int
    kill_switch_state: KillSwitchState
    risk_policy_id: str
    outcome: str
    status_code: str
    reason: str
    gate_step: int
    detail: dict[str, str] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True)
class AuditPage:
    events: tuple[AuditEvent, ...]
    next_after_event_id: int  # 0: no further page


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    events_checked: int
    first_bad_event_id: int
    problem: str
    head_hash: str
    purged_through_event_id: int


@dataclass(frozen=True)
class AuditExport:
    export_id: str
    path: str
    manifest_path: str
    first_event_id: int
    last_event_id: int
    event_count: int
    sha256: str


@dataclass(frozen=True)
class AuditPurge:
    purged_count: int
    purged_through_event_id: int
    export_id: str
    audit_event_id: int
