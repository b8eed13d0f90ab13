import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_BUY: _ClassVar[Action]
    ACTION_SELL: _ClassVar[Action]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_MARKET: _ClassVar[OrderType]
    ORDER_TYPE_STOP: _ClassVar[OrderType]
    ORDER_TYPE_STOP_LIMIT: _ClassVar[OrderType]

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_DAY: _ClassVar[TimeInForce]
    TIME_IN_FORCE_GTC: _ClassVar[TimeInForce]

class SecType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEC_TYPE_UNSPECIFIED: _ClassVar[SecType]
    SEC_TYPE_STOCK: _ClassVar[SecType]
    SEC_TYPE_ETF: _ClassVar[SecType]
    SEC_TYPE_FUTURE: _ClassVar[SecType]
    SEC_TYPE_OPTION: _ClassVar[SecType]

class KillSwitchState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KILL_SWITCH_STATE_UNSPECIFIED: _ClassVar[KillSwitchState]
    KILL_SWITCH_STATE_OPEN: _ClassVar[KillSwitchState]
    KILL_SWITCH_STATE_CLOSED: _ClassVar[KillSwitchState]
    KILL_SWITCH_STATE_REDUCING: _ClassVar[KillSwitchState]

class InstanceRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTANCE_ROLE_UNSPECIFIED: _ClassVar[InstanceRole]
    INSTANCE_ROLE_W: _ClassVar[InstanceRole]
    INSTANCE_ROLE_R: _ClassVar[InstanceRole]
    INSTANCE_ROLE_ABH: _ClassVar[InstanceRole]

class OptionRight(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPTION_RIGHT_UNSPECIFIED: _ClassVar[OptionRight]
    OPTION_RIGHT_CALL: _ClassVar[OptionRight]
    OPTION_RIGHT_PUT: _ClassVar[OptionRight]

class BracketLeg(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BRACKET_LEG_UNSPECIFIED: _ClassVar[BracketLeg]
    BRACKET_LEG_PARENT: _ClassVar[BracketLeg]
    BRACKET_LEG_TAKE_PROFIT: _ClassVar[BracketLeg]
    BRACKET_LEG_STOP_LOSS: _ClassVar[BracketLeg]
ACTION_UNSPECIFIED: Action
ACTION_BUY: Action
ACTION_SELL: Action
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_MARKET: OrderType
ORDER_TYPE_STOP: OrderType
ORDER_TYPE_STOP_LIMIT: OrderType
TIME_IN_FORCE_UNSPECIFIED: TimeInForce
TIME_IN_FORCE_DAY: TimeInForce
TIME_IN_FORCE_GTC: TimeInForce
SEC_TYPE_UNSPECIFIED: SecType
SEC_TYPE_STOCK: SecType
SEC_TYPE_ETF: SecType
SEC_TYPE_FUTURE: SecType
SEC_TYPE_OPTION: SecType
KILL_SWITCH_STATE_UNSPECIFIED: KillSwitchState
KILL_SWITCH_STATE_OPEN: KillSwitchState
KILL_SWITCH_STATE_CLOSED: KillSwitchState
KILL_SWITCH_STATE_REDUCING: KillSwitchState
INSTANCE_ROLE_UNSPECIFIED: InstanceRole
INSTANCE_ROLE_W: InstanceRole
INSTANCE_ROLE_R: InstanceRole
INSTANCE_ROLE_ABH: InstanceRole
OPTION_RIGHT_UNSPECIFIED: OptionRight
OPTION_RIGHT_CALL: OptionRight
OPTION_RIGHT_PUT: OptionRight
BRACKET_LEG_UNSPECIFIED: BracketLeg
BRACKET_LEG_PARENT: BracketLeg
BRACKET_LEG_TAKE_PROFIT: BracketLeg
BRACKET_LEG_STOP_LOSS: BracketLeg

class Instrument(_message.Message):
    __slots__ = ("symbol", "sec_type", "exchange", "currency", "primary_exchange", "expiry", "strike", "right")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SEC_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    STRIKE_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    sec_type: SecType
    exchange: str
    currency: str
    primary_exchange: str
    expiry: str
    strike: str
    right: OptionRight
    def __init__(self, symbol: _Optional[str] = ..., sec_type: _Optional[_Union[SecType, str]] = ..., exchange: _Optional[str] = ..., currency: _Optional[str] = ..., primary_exchange: _Optional[str] = ..., expiry: _Optional[str] = ..., strike: _Optional[str] = ..., right: _Optional[_Union[OptionRight, str]] = ...) -> None: ...

class PriceIncrement(_message.Message):
    __slots__ = ("low_edge", "increment")
    LOW_EDGE_FIELD_NUMBER: _ClassVar[int]
    INCREMENT_FIELD_NUMBER: _ClassVar[int]
    low_edge: str
    increment: str
    def __init__(self, low_edge: _Optional[str] = ..., increment: _Optional[str] = ...) -> None: ...

class TradingSession(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MarginImpact(_message.Message):
    __slots__ = ("init_margin_before", "init_margin_change", "init_margin_after", "maint_margin_before", "maint_margin_change", "maint_margin_after", "equity_with_loan_before", "equity_with_loan_change", "equity_with_loan_after", "excess_liquidity_after", "commission", "as_of")
    INIT_MARGIN_BEFORE_FIELD_NUMBER: _ClassVar[int]
    INIT_MARGIN_CHANGE_FIELD_NUMBER: _ClassVar[int]
    INIT_MARGIN_AFTER_FIELD_NUMBER: _ClassVar[int]
    MAINT_MARGIN_BEFORE_FIELD_NUMBER: _ClassVar[int]
    MAINT_MARGIN_CHANGE_FIELD_NUMBER: _ClassVar[int]
    MAINT_MARGIN_AFTER_FIELD_NUMBER: _ClassVar[int]
    EQUITY_WITH_LOAN_BEFORE_FIELD_NUMBER: _ClassVar[int]
    EQUITY_WITH_LOAN_CHANGE_FIELD_NUMBER: _ClassVar[int]
    EQUITY_WITH_LOAN_AFTER_FIELD_NUMBER: _ClassVar[int]
    EXCESS_LIQUIDITY_AFTER_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    init_margin_before: str
    init_margin_change: str
    init_margin_after: str
    maint_margin_before: str
    maint_margin_change: str
    maint_margin_after: str
    equity_with_loan_before: str
    equity_with_loan_change: str
    equity_with_loan_after: str
    excess_liquidity_after: str
    commission: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, init_margin_before: _Optional[str] = ..., init_margin_change: _Optional[str] = ..., init_margin_after: _Optional[str] = ..., maint_margin_before: _Optional[str] = ..., maint_margin_change: _Optional[str] = ..., maint_margin_after: _Optional[str] = ..., equity_with_loan_before: _Optional[str] = ..., equity_with_loan_change: _Optional[str] = ..., equity_with_loan_after: _Optional[str] = ..., excess_liquidity_after: _Optional[str] = ..., commission: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("instrument", "action", "quantity", "order_type", "limit_price", "stop_price", "time_in_force", "outside_rth")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    OUTSIDE_RTH_FIELD_NUMBER: _ClassVar[int]
    instrument: Instrument
    action: Action
    quantity: str
    order_type: OrderType
    limit_price: str
    stop_price: str
    time_in_force: TimeInForce
    outside_rth: bool
    def __init__(self, instrument: _Optional[_Union[Instrument, _Mapping]] = ..., action: _Optional[_Union[Action, str]] = ..., quantity: _Optional[str] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., limit_price: _Optional[str] = ..., stop_price: _Optional[str] = ..., time_in_force: _Optional[_Union[TimeInForce, str]] = ..., outside_rth: _Optional[bool] = ...) -> None: ...

class OrderChanges(_message.Message):
    __slots__ = ("quantity", "limit_price", "stop_price", "time_in_force")
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    quantity: str
    limit_price: str
    stop_price: str
    time_in_force: TimeInForce
    def __init__(self, quantity: _Optional[str] = ..., limit_price: _Optional[str] = ..., stop_price: _Optional[str] = ..., time_in_force: _Optional[_Union[TimeInForce, str]] = ...) -> None: ...

class BrokerOrder(_message.Message):
    __slots__ = ("broker_order_id", "perm_id", "account_id", "order", "status", "filled", "remaining", "avg_fill_price", "order_ref", "parent_id", "oca_group", "messages")
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PERM_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    AVG_FILL_PRICE_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCA_GROUP_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    broker_order_id: int
    perm_id: int
    account_id: str
    order: Order
    status: str
    filled: str
    remaining: str
    avg_fill_price: str
    order_ref: str
    parent_id: int
    oca_group: str
    messages: _containers.RepeatedCompositeFieldContainer[BrokerMessage]
    def __init__(self, broker_order_id: _Optional[int] = ..., perm_id: _Optional[int] = ..., account_id: _Optional[str] = ..., order: _Optional[_Union[Order, _Mapping]] = ..., status: _Optional[str] = ..., filled: _Optional[str] = ..., remaining: _Optional[str] = ..., avg_fill_price: _Optional[str] = ..., order_ref: _Optional[str] = ..., parent_id: _Optional[int] = ..., oca_group: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[BrokerMessage, _Mapping]]] = ...) -> None: ...

class BrokerMessage(_message.Message):
    __slots__ = ("code", "message", "broker_order_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    broker_order_id: int
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., broker_order_id: _Optional[int] = ...) -> None: ...

class KillSwitch(_message.Message):
    __slots__ = ("state", "reason", "changed_by", "changed_at", "version", "pending_reopen")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PENDING_REOPEN_FIELD_NUMBER: _ClassVar[int]
    state: KillSwitchState
    reason: str
    changed_by: str
    changed_at: _timestamp_pb2.Timestamp
    version: int
    pending_reopen: ReopenRequest
    def __init__(self, state: _Optional[_Union[KillSwitchState, str]] = ..., reason: _Optional[str] = ..., changed_by: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., pending_reopen: _Optional[_Union[ReopenRequest, _Mapping]] = ...) -> None: ...

class ReopenRequest(_message.Message):
    __slots__ = ("reopen_id", "requested_by", "reason", "request_id", "requested_at", "expires_at", "switch_version", "target_state")
    REOPEN_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SWITCH_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_STATE_FIELD_NUMBER: _ClassVar[int]
    reopen_id: str
    requested_by: str
    reason: str
    request_id: str
    requested_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    switch_version: int
    target_state: KillSwitchState
    def __init__(self, reopen_id: _Optional[str] = ..., requested_by: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., switch_version: _Optional[int] = ..., target_state: _Optional[_Union[KillSwitchState, str]] = ...) -> None: ...

class InFlightWrite(_message.Message):
    __slots__ = ("request_id", "operation", "idempotency_key", "broker_order_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    operation: str
    idempotency_key: str
    broker_order_id: int
    def __init__(self, request_id: _Optional[str] = ..., operation: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., broker_order_id: _Optional[int] = ...) -> None: ...
