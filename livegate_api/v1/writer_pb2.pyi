import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from livegate_api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProbeVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROBE_VERDICT_UNSPECIFIED: _ClassVar[ProbeVerdict]
    PROBE_VERDICT_MATCHES_ROLE: _ClassVar[ProbeVerdict]
    PROBE_VERDICT_MISMATCH: _ClassVar[ProbeVerdict]
    PROBE_VERDICT_INCONCLUSIVE: _ClassVar[ProbeVerdict]
PROBE_VERDICT_UNSPECIFIED: ProbeVerdict
PROBE_VERDICT_MATCHES_ROLE: ProbeVerdict
PROBE_VERDICT_MISMATCH: ProbeVerdict
PROBE_VERDICT_INCONCLUSIVE: ProbeVerdict

class WriterSubmitOrderRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "order", "idempotency_key", "settle")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SETTLE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    order: _common_pb2.Order
    idempotency_key: str
    settle: bool
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., settle: _Optional[bool] = ...) -> None: ...

class WriterCancelOrderRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "broker_order_id", "idempotency_key")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    broker_order_id: int
    idempotency_key: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., broker_order_id: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class WriterModifyOrderRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "broker_order_id", "changes", "idempotency_key")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    broker_order_id: int
    changes: _common_pb2.OrderChanges
    idempotency_key: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., broker_order_id: _Optional[int] = ..., changes: _Optional[_Union[_common_pb2.OrderChanges, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class WriterSubmitBracketRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "parent", "take_profit", "stop_loss", "idempotency_key", "settle")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SETTLE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    parent: _common_pb2.Order
    take_profit: _common_pb2.Order
    stop_loss: _common_pb2.Order
    idempotency_key: str
    settle: bool
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., parent: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., take_profit: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., stop_loss: _Optional[_Union[_common_pb2.Order, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., settle: _Optional[bool] = ...) -> None: ...

class WriterOrderResult(_message.Message):
    __slots__ = ("order", "reconciled")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    RECONCILED_FIELD_NUMBER: _ClassVar[int]
    order: _common_pb2.BrokerOrder
    reconciled: bool
    def __init__(self, order: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., reconciled: _Optional[bool] = ...) -> None: ...

class WriterBracketResult(_message.Message):
    __slots__ = ("parent", "take_profit", "stop_loss", "reconciled")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_FIELD_NUMBER: _ClassVar[int]
    RECONCILED_FIELD_NUMBER: _ClassVar[int]
    parent: _common_pb2.BrokerOrder
    take_profit: _common_pb2.BrokerOrder
    stop_loss: _common_pb2.BrokerOrder
    reconciled: bool
    def __init__(self, parent: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., take_profit: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., stop_loss: _Optional[_Union[_common_pb2.BrokerOrder, _Mapping]] = ..., reconciled: _Optional[bool] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("account_id", "broker_order_id", "order_ref")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    broker_order_id: int
    order_ref: str
    def __init__(self, account_id: _Optional[str] = ..., broker_order_id: _Optional[int] = ..., order_ref: _Optional[str] = ...) -> None: ...

class ListOpenOrdersRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class ListOpenOrdersResponse(_message.Message):
    __slots__ = ("broker_order_ids",)
    BROKER_ORDER_IDS_FIELD_NUMBER: _ClassVar[int]
    broker_order_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, broker_order_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class WriterGetKillSwitchRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WriterSetKillSwitchRequest(_message.Message):
    __slots__ = ("request_id", "state", "reason", "version", "resend")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RESEND_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    state: _common_pb2.KillSwitchState
    reason: str
    version: int
    resend: bool
    def __init__(self, request_id: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.KillSwitchState, str]] = ..., reason: _Optional[str] = ..., version: _Optional[int] = ..., resend: _Optional[bool] = ...) -> None: ...

class WriterKillSwitchAnswer(_message.Message):
    __slots__ = ("kill_switch", "in_flight")
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    kill_switch: _common_pb2.KillSwitch
    in_flight: _containers.RepeatedCompositeFieldContainer[_common_pb2.InFlightWrite]
    def __init__(self, kill_switch: _Optional[_Union[_common_pb2.KillSwitch, _Mapping]] = ..., in_flight: _Optional[_Iterable[_Union[_common_pb2.InFlightWrite, _Mapping]]] = ...) -> None: ...

class CancelAllOrdersRequest(_message.Message):
    __slots__ = ("request_id", "reason", "broker_wide")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BROKER_WIDE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reason: str
    broker_wide: bool
    def __init__(self, request_id: _Optional[str] = ..., reason: _Optional[str] = ..., broker_wide: _Optional[bool] = ...) -> None: ...

class CancelAllOrdersResponse(_message.Message):
    __slots__ = ("cancelled_orders", "cancelled", "still_working", "foreign_orders_left", "broker_wide")
    CANCELLED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    STILL_WORKING_FIELD_NUMBER: _ClassVar[int]
    FOREIGN_ORDERS_LEFT_FIELD_NUMBER: _ClassVar[int]
    BROKER_WIDE_FIELD_NUMBER: _ClassVar[int]
    cancelled_orders: int
    cancelled: _containers.RepeatedCompositeFieldContainer[_common_pb2.BrokerOrder]
    still_working: _containers.RepeatedCompositeFieldContainer[_common_pb2.BrokerOrder]
    foreign_orders_left: int
    broker_wide: bool
    def __init__(self, cancelled_orders: _Optional[int] = ..., cancelled: _Optional[_Iterable[_Union[_common_pb2.BrokerOrder, _Mapping]]] = ..., still_working: _Optional[_Iterable[_Union[_common_pb2.BrokerOrder, _Mapping]]] = ..., foreign_orders_left: _Optional[int] = ..., broker_wide: _Optional[bool] = ...) -> None: ...

class GetPermissionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProbeEvidence(_message.Message):
    __slots__ = ("check", "passed", "observed")
    CHECK_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    check: str
    passed: bool
    observed: str
    def __init__(self, check: _Optional[str] = ..., passed: _Optional[bool] = ..., observed: _Optional[str] = ...) -> None: ...

class Permission(_message.Message):
    __slots__ = ("role", "accounts", "verdict", "evidence", "probed_at", "unexplained_orders", "broker_connected", "kill_switch", "broker_request_timeout")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    PROBED_AT_FIELD_NUMBER: _ClassVar[int]
    UNEXPLAINED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    BROKER_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    BROKER_REQUEST_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    role: _common_pb2.InstanceRole
    accounts: _containers.RepeatedScalarFieldContainer[str]
    verdict: ProbeVerdict
    evidence: _containers.RepeatedCompositeFieldContainer[ProbeEvidence]
    probed_at: _timestamp_pb2.Timestamp
    unexplained_orders: _containers.RepeatedCompositeFieldContainer[_common_pb2.BrokerOrder]
    broker_connected: bool
    kill_switch: _common_pb2.KillSwitch
    broker_request_timeout: _duration_pb2.Duration
    def __init__(self, role: _Optional[_Union[_common_pb2.InstanceRole, str]] = ..., accounts: _Optional[_Iterable[str]] = ..., verdict: _Optional[_Union[ProbeVerdict, str]] = ..., evidence: _Optional[_Iterable[_Union[ProbeEvidence, _Mapping]]] = ..., probed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unexplained_orders: _Optional[_Iterable[_Union[_common_pb2.BrokerOrder, _Mapping]]] = ..., broker_connected: _Optional[bool] = ..., kill_switch: _Optional[_Union[_common_pb2.KillSwitch, _Mapping]] = ..., broker_request_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetQuoteRequest(_message.Message):
    __slots__ = ("instrument",)
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    instrument: _common_pb2.Instrument
    def __init__(self, instrument: _Optional[_Union[_common_pb2.Instrument, _Mapping]] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("instrument", "bid", "ask", "last", "as_of")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    instrument: _common_pb2.Instrument
    bid: str
    ask: str
    last: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, instrument: _Optional[_Union[_common_pb2.Instrument, _Mapping]] = ..., bid: _Optional[str] = ..., ask: _Optional[str] = ..., last: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetContractDetailsRequest(_message.Message):
    __slots__ = ("instrument",)
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    instrument: _common_pb2.Instrument
    def __init__(self, instrument: _Optional[_Union[_common_pb2.Instrument, _Mapping]] = ...) -> None: ...

class ContractDetails(_message.Message):
    __slots__ = ("instrument", "con_id", "local_symbol", "min_tick", "market_rule_id", "price_increments", "multiplier", "time_zone", "trading_sessions", "liquid_sessions", "order_types", "as_of")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    LOCAL_SYMBOL_FIELD_NUMBER: _ClassVar[int]
    MIN_TICK_FIELD_NUMBER: _ClassVar[int]
    MARKET_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_INCREMENTS_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    TRADING_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    LIQUID_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    instrument: _common_pb2.Instrument
    con_id: int
    local_symbol: str
    min_tick: str
    market_rule_id: int
    price_increments: _containers.RepeatedCompositeFieldContainer[_common_pb2.PriceIncrement]
    multiplier: str
    time_zone: str
    trading_sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.TradingSession]
    liquid_sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.TradingSession]
    order_types: _containers.RepeatedScalarFieldContainer[str]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, instrument: _Optional[_Union[_common_pb2.Instrument, _Mapping]] = ..., con_id: _Optional[int] = ..., local_symbol: _Optional[str] = ..., min_tick: _Optional[str] = ..., market_rule_id: _Optional[int] = ..., price_increments: _Optional[_Iterable[_Union[_common_pb2.PriceIncrement, _Mapping]]] = ..., multiplier: _Optional[str] = ..., time_zone: _Optional[str] = ..., trading_sessions: _Optional[_Iterable[_Union[_common_pb2.TradingSession, _Mapping]]] = ..., liquid_sessions: _Optional[_Iterable[_Union[_common_pb2.TradingSession, _Mapping]]] = ..., order_types: _Optional[_Iterable[str]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetAccountStateRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class AccountPosition(_message.Message):
    __slots__ = ("con_id", "instrument", "quantity", "avg_cost", "multiplier")
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVG_COST_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    con_id: int
    instrument: _common_pb2.Instrument
    quantity: str
    avg_cost: str
    multiplier: str
    def __init__(self, con_id: _Optional[int] = ..., instrument: _Optional[_Union[_common_pb2.Instrument, _Mapping]] = ..., quantity: _Optional[str] = ..., avg_cost: _Optional[str] = ..., multiplier: _Optional[str] = ...) -> None: ...

class WorkingOrder(_message.Message):
    __slots__ = ("broker_order_id", "con_id", "action", "remaining", "order_ref")
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    broker_order_id: int
    con_id: int
    action: _common_pb2.Action
    remaining: str
    order_ref: str
    def __init__(self, broker_order_id: _Optional[int] = ..., con_id: _Optional[int] = ..., action: _Optional[_Union[_common_pb2.Action, str]] = ..., remaining: _Optional[str] = ..., order_ref: _Optional[str] = ...) -> None: ...

class AccountState(_message.Message):
    __slots__ = ("account_id", "positions", "working_orders", "net_liquidation", "gross_position_value", "excess_liquidity", "maint_margin", "as_of")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    WORKING_ORDERS_FIELD_NUMBER: _ClassVar[int]
    NET_LIQUIDATION_FIELD_NUMBER: _ClassVar[int]
    GROSS_POSITION_VALUE_FIELD_NUMBER: _ClassVar[int]
    EXCESS_LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    MAINT_MARGIN_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    positions: _containers.RepeatedCompositeFieldContainer[AccountPosition]
    working_orders: _containers.RepeatedCompositeFieldContainer[WorkingOrder]
    net_liquidation: str
    gross_position_value: str
    excess_liquidity: str
    maint_margin: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., positions: _Optional[_Iterable[_Union[AccountPosition, _Mapping]]] = ..., working_orders: _Optional[_Iterable[_Union[WorkingOrder, _Mapping]]] = ..., net_liquidation: _Optional[str] = ..., gross_position_value: _Optional[str] = ..., excess_liquidity: _Optional[str] = ..., maint_margin: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PreviewMarginRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "order")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    order: _common_pb2.Order
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., order: _Optional[_Union[_common_pb2.Order, _Mapping]] = ...) -> None: ...

class ListFillsRequest(_message.Message):
    __slots__ = ("account_id", "since", "refresh")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    since: _timestamp_pb2.Timestamp
    refresh: bool
    def __init__(self, account_id: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refresh: _Optional[bool] = ...) -> None: ...

class Fill(_message.Message):
    __slots__ = ("exec_id", "broker_order_id", "order_ref", "con_id", "instrument", "action", "quantity", "price", "time", "commission", "cum_quantity", "order_quantity")
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FIELD_NUMBER: _ClassVar[int]
    CUM_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ORDER_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    broker_order_id: int
    order_ref: str
    con_id: int
    instrument: _common_pb2.Instrument
    action: _common_pb2.Action
    quantity: str
    price: str
    time: _timestamp_pb2.Timestamp
    commission: str
    cum_quantity: str
    order_quantity: str
    def __init__(self, exec_id: _Optional[str] = ..., broker_order_id: _Optional[int] = ..., order_ref: _Optional[str] = ..., con_id: _Optional[int] = ..., instrument: _Optional[_Union[_common_pb2.Instrument, _Mapping]] = ..., action: _Optional[_Union[_common_pb2.Action, str]] = ..., quantity: _Optional[str] = ..., price: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., commission: _Optional[str] = ..., cum_quantity: _Optional[str] = ..., order_quantity: _Optional[str] = ...) -> None: ...

class ListFillsResponse(_message.Message):
    __slots__ = ("fills",)
    FILLS_FIELD_NUMBER: _ClassVar[int]
    fills: _containers.RepeatedCompositeFieldContainer[Fill]
    def __init__(self, fills: _Optional[_Iterable[_Union[Fill, _Mapping]]] = ...) -> None: ...

class ListOrderStatusesRequest(_message.Message):
    __slots__ = ("account_id", "since")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OrderStatusReport(_message.Message):
    __slots__ = ("broker_order_id", "order_ref", "status", "filled", "remaining", "changed_at")
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    broker_order_id: int
    order_ref: str
    status: str
    filled: str
    remaining: str
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, broker_order_id: _Optional[int] = ..., order_ref: _Optional[str] = ..., status: _Optional[str] = ..., filled: _Optional[str] = ..., remaining: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListOrderStatusesResponse(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OrderStatusReport]
    def __init__(self, orders: _Optional[_Iterable[_Union[OrderStatusReport, _Mapping]]] = ...) -> None: ...

class ClaimAutoStopsRequest(_message.Message):
    __slots__ = ("request_id", "acknowledged_trip_ids")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_TRIP_IDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    acknowledged_trip_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., acknowledged_trip_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AutoStopEvidence(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class AutoStopTrip(_message.Message):
    __slots__ = ("trip_id", "trigger", "reason", "evidence", "tripped_at")
    TRIP_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    TRIPPED_AT_FIELD_NUMBER: _ClassVar[int]
    trip_id: str
    trigger: str
    reason: str
    evidence: _containers.RepeatedCompositeFieldContainer[AutoStopEvidence]
    tripped_at: _timestamp_pb2.Timestamp
    def __init__(self, trip_id: _Optional[str] = ..., trigger: _Optional[str] = ..., reason: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[AutoStopEvidence, _Mapping]]] = ..., tripped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ClaimAutoStopsResponse(_message.Message):
    __slots__ = ("trips",)
    TRIPS_FIELD_NUMBER: _ClassVar[int]
    trips: _containers.RepeatedCompositeFieldContainer[AutoStopTrip]
    def __init__(self, trips: _Optional[_Iterable[_Union[AutoStopTrip, _Mapping]]] = ...) -> None: ...
