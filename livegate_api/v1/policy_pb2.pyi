import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from livegate_api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScopeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCOPE_KIND_UNSPECIFIED: _ClassVar[ScopeKind]
    SCOPE_KIND_ACCOUNT: _ClassVar[ScopeKind]
    SCOPE_KIND_PRINCIPAL: _ClassVar[ScopeKind]
    SCOPE_KIND_STRATEGY: _ClassVar[ScopeKind]

class PreviewKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PREVIEW_KIND_UNSPECIFIED: _ClassVar[PreviewKind]
    PREVIEW_KIND_ORDER: _ClassVar[PreviewKind]
    PREVIEW_KIND_MODIFY: _ClassVar[PreviewKind]
    PREVIEW_KIND_BRACKET_LEG: _ClassVar[PreviewKind]

class WriterSwitchState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WRITER_SWITCH_STATE_UNSPECIFIED: _ClassVar[WriterSwitchState]
    WRITER_SWITCH_STATE_CONFIRMED_CLOSED: _ClassVar[WriterSwitchState]
    WRITER_SWITCH_STATE_CONFIRMED_OPEN: _ClassVar[WriterSwitchState]
    WRITER_SWITCH_STATE_NOT_CONFIRMED: _ClassVar[WriterSwitchState]
    WRITER_SWITCH_STATE_CONFIRMED_REDUCING: _ClassVar[WriterSwitchState]

class LeaseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEASE_STATE_UNSPECIFIED: _ClassVar[LeaseState]
    LEASE_STATE_ACTIVE: _ClassVar[LeaseState]
    LEASE_STATE_LAPSED: _ClassVar[LeaseState]
    LEASE_STATE_STOPPED: _ClassVar[LeaseState]
    LEASE_STATE_RELEASED: _ClassVar[LeaseState]

class AuditChainState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_CHAIN_STATE_UNSPECIFIED: _ClassVar[AuditChainState]
    AUDIT_CHAIN_STATE_INTACT: _ClassVar[AuditChainState]
    AUDIT_CHAIN_STATE_BROKEN: _ClassVar[AuditChainState]

class AuditAnchorState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_ANCHOR_STATE_UNSPECIFIED: _ClassVar[AuditAnchorState]
    AUDIT_ANCHOR_STATE_CURRENT: _ClassVar[AuditAnchorState]
    AUDIT_ANCHOR_STATE_BEHIND: _ClassVar[AuditAnchorState]
    AUDIT_ANCHOR_STATE_MISSING: _ClassVar[AuditAnchorState]
    AUDIT_ANCHOR_STATE_REWOUND: _ClassVar[AuditAnchorState]
    AUDIT_ANCHOR_STATE_INVALID: _ClassVar[AuditAnchorState]
SCOPE_KIND_UNSPECIFIED: ScopeKind
SCOPE_KIND_ACCOUNT: ScopeKind
SCOPE_KIND_PRINCIPAL: ScopeKind
SCOPE_KIND_STRATEGY: ScopeKind
PREVIEW_KIND_UNSPECIFIED: PreviewKind
PREVIEW_KIND_ORDER: PreviewKind
PREVIEW_KIND_MODIFY: PreviewKind
PREVIEW_KIND_BRACKET_LEG: PreviewKind
WRITER_SWITCH_STATE_UNSPECIFIED: WriterSwitchState
WRITER_SWITCH_STATE_CONFIRMED_CLOSED: WriterSwitchState
WRITER_SWITCH_STATE_CONFIRMED_OPEN: WriterSwitchState
WRITER_SWITCH_STATE_NOT_CONFIRMED: WriterSwitchState
WRITER_SWITCH_STATE_CONFIRMED_REDUCING: WriterSwitchState
LEASE_STATE_UNSPECIFIED: LeaseState
LEASE_STATE_ACTIVE: LeaseState
LEASE_STATE_LAPSED: LeaseState
LEASE_STATE_STOPPED: LeaseState
LEASE_STATE_RELEASED: LeaseState
AUDIT_CHAIN_STATE_UNSPECIFIED: AuditChainState
AUDIT_CHAIN_STATE_INTACT: AuditChainState
AUDIT_CHAIN_STATE_BROKEN: AuditChainState
AUDIT_ANCHOR_STATE_UNSPECIFIED: AuditAnchorState
AUDIT_ANCHOR_STATE_CURRENT: AuditAnchorState
AUDIT_ANCHOR_STATE_BEHIND: AuditAnchorState
AUDIT_ANCHOR_STATE_MISSING: AuditAnchorState
AUDIT_ANCHOR_STATE_REWOUND: AuditAnchorState
AUDIT_ANCHOR_STATE_INVALID: AuditAnchorState

class LimitCheck(_message.Message):
    __slots__ = ("name", "passed", "reason", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    passed: bool
    reason: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., passed: _Optional[bool] = ..., reason: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Preview(_message.Message):
    __slots__ = ("preview_id", "kind", "account_id", "order", "reference_price", "estimated_notional", "checks", "would_pass", "risk_policy_id", "created_by", "created_at", "expires_at", "broker_order_id", "changes", "group_id", "leg", "instrument_details", "margin", "market_order_collared", "intended_duplicate", "strategy")
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_PRICE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    WOULD_PASS_FIELD_NUMBER: _ClassVar[int]
    RISK_POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    LEG_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_DETAILS_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    MARKET_ORDER_COLLARED_FIELD_NUMBER: _ClassVar[int]
    INTENDED_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    preview_id: str
    kind: PreviewKind
    account_id: str
    order: _common_pb2.Order
    reference_price: str
    estimated_notional: str
    checks: _containers.RepeatedCompositeFieldContainer[LimitCheck]
    would_pass: bool
    risk_policy_id: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    broker_order_id: int
    changes: _common_pb2.OrderChanges
    group_id: str
    leg: _common_pb2.BracketLeg
    instrument_details: InstrumentDetails
    margin: _common_pb2.MarginImpact
    market_order_collared: bool
    intended_duplicate: bool
    strategy: str
    def __init__(self, preview_id: _Optional[str] = ..., kind: _Optional[_Union[PreviewKind, str]] = ..., account_id: _Optional[str] = ..., order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., reference_price: _Optional[str] = ..., estimated_notional: _Optional[str] = ..., checks: _Optional[_Iterable[_Union[LimitCheck, _Mapping]]] = ..., would_pass: _Optional[bool] = ..., risk_policy_id: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., broker_order_id: _Optional[int] = ..., changes: _Optional[_Union[_common_pb2.OrderChanges, _Mapping]] = ..., group_id: _Optional[str] = ..., leg: _Optional[_Union[_common_pb2.BracketLeg, str]] = ..., instrument_details: _Optional[_Union[InstrumentDetails, _Mapping]] = ..., margin: _Optional[_Union[_common_pb2.MarginImpact, _Mapping]] = ..., market_order_collared: _Optional[bool] = ..., intended_duplicate: _Optional[bool] = ..., strategy: _Optional[str] = ...) -> None: ...

class InstrumentDetails(_message.Message):
    __slots__ = ("con_id", "local_symbol", "multiplier", "price_tick", "time_zone")
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    LOCAL_SYMBOL_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    PRICE_TICK_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    con_id: int
    local_symbol: str
    multiplier: str
    price_tick: str
    time_zone: str
    def __init__(self, con_id: _Optional[int] = ..., local_symbol: _Optional[str] = ..., multiplier: _Optional[str] = ..., price_tick: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class CreateOrderPreviewRequest(_message.Message):
    __slots__ = ("account_id", "order", "intended_duplicate", "strategy")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    INTENDED_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    order: _common_pb2.Order
    intended_duplicate: bool
    strategy: str
    def __init__(self, account_id: _Optional[str] = ..., order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., intended_duplicate: _Optional[bool] = ..., strategy: _Optional[str] = ...) -> None: ...

class CreateModifyPreviewRequest(_message.Message):
    __slots__ = ("account_id", "broker_order_id", "changes", "strategy")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    broker_order_id: int
    changes: _common_pb2.OrderChanges
    strategy: str
    def __init__(self, account_id: _Optional[str] = ..., broker_order_id: _Optional[int] = ..., changes: _Optional[_Union[_common_pb2.OrderChanges, _Mapping]] = ..., strategy: _Optional[str] = ...) -> None: ...

class CreateBracketPreviewRequest(_message.Message):
    __slots__ = ("account_id", "instrument", "action", "quantity", "entry_limit_price", "take_profit_price", "stop_loss_price", "time_in_force", "intended_duplicate", "strategy")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_PRICE_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    INTENDED_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    instrument: _common_pb2.Instrument
    action: _common_pb2.Action
    quantity: str
    entry_limit_price: str
    take_profit_price: str
    stop_loss_price: str
    time_in_force: _common_pb2.TimeInForce
    intended_duplicate: bool
    strategy: str
    def __init__(self, account_id: _Optional[str] = ..., instrument: _Optional[_Union[_common_pb2.Instrument, _Mapping]] = ..., action: _Optional[_Union[_common_pb2.Action, str]] = ..., quantity: _Optional[str] = ..., entry_limit_price: _Optional[str] = ..., take_profit_price: _Optional[str] = ..., stop_loss_price: _Optional[str] = ..., time_in_force: _Optional[_Union[_common_pb2.TimeInForce, str]] = ..., intended_duplicate: _Optional[bool] = ..., strategy: _Optional[str] = ...) -> None: ...

class BracketPreview(_message.Message):
    __slots__ = ("group_id", "parent", "take_profit", "stop_loss")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    parent: Preview
    take_profit: Preview
    stop_loss: Preview
    def __init__(self, group_id: _Optional[str] = ..., parent: _Optional[_Union[Preview, _Mapping]] = ..., take_profit: _Optional[_Union[Preview, _Mapping]] = ..., stop_loss: _Optional[_Union[Preview, _Mapping]] = ...) -> None: ...

class ApprovePreviewRequest(_message.Message):
    __slots__ = ("preview_id", "comment")
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    preview_id: str
    comment: str
    def __init__(self, preview_id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("approval_id", "preview_id", "approved_by", "created_at", "expires_at")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    preview_id: str
    approved_by: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, approval_id: _Optional[str] = ..., preview_id: _Optional[str] = ..., approved_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitOrderRequest(_message.Message):
    __slots__ = ("account_id", "preview_id", "approval_id", "idempotency_key", "strategy")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    preview_id: str
    approval_id: str
    idempotency_key: str
    strategy: str
    def __init__(self, account_id: _Optional[str] = ..., preview_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., strategy: _Optional[str] = ...) -> None: ...

class SubmitOrderResponse(_message.Message):
    __slots__ = ("order", "replayed", "audit_event_id")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.BrokerOrder
    replayed: bool
    audit_event_id: int
    def __init__(self, order: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., replayed: _Optional[bool] = ..., audit_event_id: _Optional[int] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("account_id", "broker_order_id", "idempotency_key")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    broker_order_id: int
    idempotency_key: str
    def __init__(self, account_id: _Optional[str] = ..., broker_order_id: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("order", "replayed", "audit_event_id")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.BrokerOrder
    replayed: bool
    audit_event_id: int
    def __init__(self, order: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., replayed: _Optional[bool] = ..., audit_event_id: _Optional[int] = ...) -> None: ...

class ModifyOrderRequest(_message.Message):
    __slots__ = ("account_id", "broker_order_id", "approval_id", "preview_id", "idempotency_key", "changes", "strategy")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    broker_order_id: int
    approval_id: str
    preview_id: str
    idempotency_key: str
    changes: _common_pb2.OrderChanges
    strategy: str
    def __init__(self, account_id: _Optional[str] = ..., broker_order_id: _Optional[int] = ..., approval_id: _Optional[str] = ..., preview_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., changes: _Optional[_Union[_common_pb2.OrderChanges, _Mapping]] = ..., strategy: _Optional[str] = ...) -> None: ...

class ModifyOrderResponse(_message.Message):
    __slots__ = ("order", "replayed", "audit_event_id")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.BrokerOrder
    replayed: bool
    audit_event_id: int
    def __init__(self, order: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., replayed: _Optional[bool] = ..., audit_event_id: _Optional[int] = ...) -> None: ...

class SubmitBracketRequest(_message.Message):
    __slots__ = ("account_id", "parent_preview_id", "take_profit_preview_id", "stop_loss_preview_id", "parent_approval_id", "take_profit_approval_id", "stop_loss_approval_id", "idempotency_key", "strategy")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    parent_preview_id: str
    take_profit_preview_id: str
    stop_loss_preview_id: str
    parent_approval_id: str
    take_profit_approval_id: str
    stop_loss_approval_id: str
    idempotency_key: str
    strategy: str
    def __init__(self, account_id: _Optional[str] = ..., parent_preview_id: _Optional[str] = ..., take_profit_preview_id: _Optional[str] = ..., stop_loss_preview_id: _Optional[str] = ..., parent_approval_id: _Optional[str] = ..., take_profit_approval_id: _Optional[str] = ..., stop_loss_approval_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., strategy: _Optional[str] = ...) -> None: ...

class SubmitBracketResponse(_message.Message):
    __slots__ = ("parent", "take_profit", "stop_loss", "replayed", "audit_event_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    parent: _common_pb2.BrokerOrder
    take_profit: _common_pb2.BrokerOrder
    stop_loss: _common_pb2.BrokerOrder
    replayed: bool
    audit_event_id: int
    def __init__(self, parent: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., take_profit: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., stop_loss: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., replayed: _Optional[bool] = ..., audit_event_id: _Optional[int] = ...) -> None: ...

class GetBrokerOrderRequest(_message.Message):
    __slots__ = ("account_id", "broker_order_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    broker_order_id: int
    def __init__(self, account_id: _Optional[str] = ..., broker_order_id: _Optional[int] = ...) -> None: ...

class GetBrokerOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.BrokerOrder
    def __init__(self, order: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ...) -> None: ...

class GetKillSwitchRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetKillSwitchRequest(_message.Message):
    __slots__ = ("state", "reason", "cancel_all_open_orders", "broker_wide_cancel")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ALL_OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    BROKER_WIDE_CANCEL_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.KillSwitchState
    reason: str
    cancel_all_open_orders: bool
    broker_wide_cancel: bool
    def __init__(self, state: _Optional[_Union[_common_pb2.KillSwitchState, str]] = ..., reason: _Optional[str] = ..., cancel_all_open_orders: _Optional[bool] = ..., broker_wide_cancel: _Optional[bool] = ...) -> None: ...

class ConfirmReopenRequest(_message.Message):
    __slots__ = ("reopen_id", "reason")
    REOPEN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reopen_id: str
    reason: str
    def __init__(self, reopen_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SetKillSwitchResponse(_message.Message):
    __slots__ = ("kill_switch", "writer_synced", "cancelled_orders", "audit_event_id", "writer_state", "writer_in_flight")
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    WRITER_SYNCED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    WRITER_STATE_FIELD_NUMBER: _ClassVar[int]
    WRITER_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    kill_switch: _common_pb2.KillSwitch
    writer_synced: bool
    cancelled_orders: int
    audit_event_id: int
    writer_state: WriterSwitchState
    writer_in_flight: _containers.RepeatedCompositeFieldContainer[_common_pb2.InFlightWrite]
    def __init__(self, kill_switch: _Optional[_Union[_common_pb2.KillSwitch, _Mapping]] = ..., writer_synced: _Optional[bool] = ..., cancelled_orders: _Optional[int] = ..., audit_event_id: _Optional[int] = ..., writer_state: _Optional[_Union[WriterSwitchState, str]] = ..., writer_in_flight: _Optional[_Iterable[_Union[_common_pb2.InFlightWrite, _Mapping]]] = ...) -> None: ...

class GetLiveStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EnablementCondition(_message.Message):
    __slots__ = ("name", "passed", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    passed: bool
    detail: str
    def __init__(self, name: _Optional[str] = ..., passed: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class LiveStatus(_message.Message):
    __slots__ = ("live_enabled", "conditions", "kill_switch", "risk_policy_id", "checklist", "principal_stops", "risk_policy_digest", "livegate_version", "scoped_stops", "leases")
    LIVE_ENABLED_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    RISK_POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKLIST_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_STOPS_FIELD_NUMBER: _ClassVar[int]
    RISK_POLICY_DIGEST_FIELD_NUMBER: _ClassVar[int]
    LIVEGATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCOPED_STOPS_FIELD_NUMBER: _ClassVar[int]
    LEASES_FIELD_NUMBER: _ClassVar[int]
    live_enabled: bool
    conditions: _containers.RepeatedCompositeFieldContainer[EnablementCondition]
    kill_switch: _common_pb2.KillSwitch
    risk_policy_id: str
    checklist: ChecklistAcknowledgement
    principal_stops: _containers.RepeatedCompositeFieldContainer[PrincipalStop]
    risk_policy_digest: str
    livegate_version: str
    scoped_stops: _containers.RepeatedCompositeFieldContainer[ScopedStop]
    leases: _containers.RepeatedCompositeFieldContainer[Lease]
    def __init__(self, live_enabled: _Optional[bool] = ..., conditions: _Optional[_Iterable[_Union[EnablementCondition, _Mapping]]] = ..., kill_switch: _Optional[_Union[_common_pb2.KillSwitch, _Mapping]] = ..., risk_policy_id: _Optional[str] = ..., checklist: _Optional[_Union[ChecklistAcknowledgement, _Mapping]] = ..., principal_stops: _Optional[_Iterable[_Union[PrincipalStop, _Mapping]]] = ..., risk_policy_digest: _Optional[str] = ..., livegate_version: _Optional[str] = ..., scoped_stops: _Optional[_Iterable[_Union[ScopedStop, _Mapping]]] = ..., leases: _Optional[_Iterable[_Union[Lease, _Mapping]]] = ...) -> None: ...

class AcknowledgeChecklistRequest(_message.Message):
    __slots__ = ("risk_policy_digest", "note")
    RISK_POLICY_DIGEST_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    risk_policy_digest: str
    note: str
    def __init__(self, risk_policy_digest: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ChecklistAcknowledgement(_message.Message):
    __slots__ = ("acknowledged_by", "acknowledged_at", "risk_policy_id", "risk_policy_digest", "livegate_version", "expires_at", "note", "valid", "detail", "audit_event_id")
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    RISK_POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    RISK_POLICY_DIGEST_FIELD_NUMBER: _ClassVar[int]
    LIVEGATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    acknowledged_by: str
    acknowledged_at: _timestamp_pb2.Timestamp
    risk_policy_id: str
    risk_policy_digest: str
    livegate_version: str
    expires_at: _timestamp_pb2.Timestamp
    note: str
    valid: bool
    detail: str
    audit_event_id: int
    def __init__(self, acknowledged_by: _Optional[str] = ..., acknowledged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., risk_policy_id: _Optional[str] = ..., risk_policy_digest: _Optional[str] = ..., livegate_version: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., valid: _Optional[bool] = ..., detail: _Optional[str] = ..., audit_event_id: _Optional[int] = ...) -> None: ...

class PrincipalStop(_message.Message):
    __slots__ = ("principal", "reason", "stopped_at", "detail", "reset_by", "reset_at", "audit_event_id")
    class DetailEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RESET_BY_FIELD_NUMBER: _ClassVar[int]
    RESET_AT_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    principal: str
    reason: str
    stopped_at: _timestamp_pb2.Timestamp
    detail: _containers.ScalarMap[str, str]
    reset_by: str
    reset_at: _timestamp_pb2.Timestamp
    audit_event_id: int
    def __init__(self, principal: _Optional[str] = ..., reason: _Optional[str] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[_Mapping[str, str]] = ..., reset_by: _Optional[str] = ..., reset_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., audit_event_id: _Optional[int] = ...) -> None: ...

class SetScopedStopRequest(_message.Message):
    __slots__ = ("kind", "value", "state", "reason")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    kind: ScopeKind
    value: str
    state: _common_pb2.KillSwitchState
    reason: str
    def __init__(self, kind: _Optional[_Union[ScopeKind, str]] = ..., value: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.KillSwitchState, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ScopedStop(_message.Message):
    __slots__ = ("kind", "scope", "state", "reason", "changed_by", "changed_at", "request_id", "version", "reopen_requested_by", "reopen_expires_at", "reopen_target")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REOPEN_REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REOPEN_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REOPEN_TARGET_FIELD_NUMBER: _ClassVar[int]
    kind: ScopeKind
    scope: str
    state: _common_pb2.KillSwitchState
    reason: str
    changed_by: str
    changed_at: _timestamp_pb2.Timestamp
    request_id: str
    version: int
    reopen_requested_by: str
    reopen_expires_at: _timestamp_pb2.Timestamp
    reopen_target: _common_pb2.KillSwitchState
    def __init__(self, kind: _Optional[_Union[ScopeKind, str]] = ..., scope: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.KillSwitchState, str]] = ..., reason: _Optional[str] = ..., changed_by: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., version: _Optional[int] = ..., reopen_requested_by: _Optional[str] = ..., reopen_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reopen_target: _Optional[_Union[_common_pb2.KillSwitchState, str]] = ...) -> None: ...

class RenewLeaseRequest(_message.Message):
    __slots__ = ("ttl_s",)
    TTL_S_FIELD_NUMBER: _ClassVar[int]
    ttl_s: float
    def __init__(self, ttl_s: _Optional[float] = ...) -> None: ...

class ReleaseLeaseRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Lease(_message.Message):
    __slots__ = ("principal", "state", "ttl_s", "renewed_at", "expires_at", "claimed_by", "scope_closed_at", "stopped_at", "released_at", "attempts")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TTL_S_FIELD_NUMBER: _ClassVar[int]
    RENEWED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_BY_FIELD_NUMBER: _ClassVar[int]
    SCOPE_CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    principal: str
    state: LeaseState
    ttl_s: float
    renewed_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    claimed_by: str
    scope_closed_at: _timestamp_pb2.Timestamp
    stopped_at: _timestamp_pb2.Timestamp
    released_at: _timestamp_pb2.Timestamp
    attempts: int
    def __init__(self, principal: _Optional[str] = ..., state: _Optional[_Union[LeaseState, str]] = ..., ttl_s: _Optional[float] = ..., renewed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claimed_by: _Optional[str] = ..., scope_closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., released_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ...) -> None: ...

class SetScopedStopResponse(_message.Message):
    __slots__ = ("stop", "audit_event_id", "revoked_approvals")
    STOP_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REVOKED_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    stop: ScopedStop
    audit_event_id: int
    revoked_approvals: int
    def __init__(self, stop: _Optional[_Union[ScopedStop, _Mapping]] = ..., audit_event_id: _Optional[int] = ..., revoked_approvals: _Optional[int] = ...) -> None: ...

class ResetPrincipalStopRequest(_message.Message):
    __slots__ = ("principal", "reason")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    principal: str
    reason: str
    def __init__(self, principal: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("event_id", "occurred_at", "method", "request_id", "principal", "account_id_hash", "preview_id", "approval_id", "idempotency_key", "broker_order_id", "kill_switch_state", "risk_policy_id", "outcome", "status_code", "reason", "gate_step", "detail", "prev_hash", "hash", "key_id")
    class DetailEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_HASH_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    KILL_SWITCH_STATE_FIELD_NUMBER: _ClassVar[int]
    RISK_POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GATE_STEP_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: int
    occurred_at: _timestamp_pb2.Timestamp
    method: str
    request_id: str
    principal: str
    account_id_hash: str
    preview_id: str
    approval_id: str
    idempotency_key: str
    broker_order_id: int
    kill_switch_state: _common_pb2.KillSwitchState
    risk_policy_id: str
    outcome: str
    status_code: str
    reason: str
    gate_step: int
    detail: _containers.ScalarMap[str, str]
    prev_hash: str
    hash: str
    key_id: str
    def __init__(self, event_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., method: _Optional[str] = ..., request_id: _Optional[str] = ..., principal: _Optional[str] = ..., account_id_hash: _Optional[str] = ..., preview_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., broker_order_id: _Optional[int] = ..., kill_switch_state: _Optional[_Union[_common_pb2.KillSwitchState, str]] = ..., risk_policy_id: _Optional[str] = ..., outcome: _Optional[str] = ..., status_code: _Optional[str] = ..., reason: _Optional[str] = ..., gate_step: _Optional[int] = ..., detail: _Optional[_Mapping[str, str]] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("since", "until", "request_id", "idempotency_key", "page_size", "after_event_id")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    request_id: str
    idempotency_key: str
    page_size: int
    after_event_id: int
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., page_size: _Optional[int] = ..., after_event_id: _Optional[int] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "next_after_event_id")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_after_event_id: int
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_after_event_id: _Optional[int] = ...) -> None: ...

class VerifyAuditRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAuditResponse(_message.Message):
    __slots__ = ("ok", "events_checked", "first_bad_event_id", "problem", "head_hash", "purged_through_event_id", "chain_state", "anchor_state", "head_event_id", "anchored_event_id", "anchored_at", "unanchored_events", "key_ids")
    OK_FIELD_NUMBER: _ClassVar[int]
    EVENTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BAD_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    PURGED_THROUGH_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_STATE_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_STATE_FIELD_NUMBER: _ClassVar[int]
    HEAD_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ANCHORED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ANCHORED_AT_FIELD_NUMBER: _ClassVar[int]
    UNANCHORED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    events_checked: int
    first_bad_event_id: int
    problem: str
    head_hash: str
    purged_through_event_id: int
    chain_state: AuditChainState
    anchor_state: AuditAnchorState
    head_event_id: int
    anchored_event_id: int
    anchored_at: _timestamp_pb2.Timestamp
    unanchored_events: int
    key_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ok: _Optional[bool] = ..., events_checked: _Optional[int] = ..., first_bad_event_id: _Optional[int] = ..., problem: _Optional[str] = ..., head_hash: _Optional[str] = ..., purged_through_event_id: _Optional[int] = ..., chain_state: _Optional[_Union[AuditChainState, str]] = ..., anchor_state: _Optional[_Union[AuditAnchorState, str]] = ..., head_event_id: _Optional[int] = ..., anchored_event_id: _Optional[int] = ..., anchored_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unanchored_events: _Optional[int] = ..., key_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportAuditRequest(_message.Message):
    __slots__ = ("until",)
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    until: _timestamp_pb2.Timestamp
    def __init__(self, until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExportAuditResponse(_message.Message):
    __slots__ = ("export_id", "path", "manifest_path", "first_event_id", "last_event_id", "event_count", "sha256", "manifest_sha256", "key_ids")
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_PATH_FIELD_NUMBER: _ClassVar[int]
    FIRST_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_SHA256_FIELD_NUMBER: _ClassVar[int]
    KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    export_id: str
    path: str
    manifest_path: str
    first_event_id: int
    last_event_id: int
    event_count: int
    sha256: str
    manifest_sha256: str
    key_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, export_id: _Optional[str] = ..., path: _Optional[str] = ..., manifest_path: _Optional[str] = ..., first_event_id: _Optional[int] = ..., last_event_id: _Optional[int] = ..., event_count: _Optional[int] = ..., sha256: _Optional[str] = ..., manifest_sha256: _Optional[str] = ..., key_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class PurgeAuditRequest(_message.Message):
    __slots__ = ("before", "dry_run")
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    before: _timestamp_pb2.Timestamp
    dry_run: bool
    def __init__(self, before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class PurgeAuditResponse(_message.Message):
    __slots__ = ("purged_count", "purged_through_event_id", "export_id", "audit_event_id", "manifest_sha256")
    PURGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PURGED_THROUGH_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_SHA256_FIELD_NUMBER: _ClassVar[int]
    purged_count: int
    purged_through_event_id: int
    export_id: str
    audit_event_id: int
    manifest_sha256: str
    def __init__(self, purged_count: _Optional[int] = ..., purged_through_event_id: _Optional[int] = ..., export_id: _Optional[str] = ..., audit_event_id: _Optional[int] = ..., manifest_sha256: _Optional[str] = ...) -> None: ...
