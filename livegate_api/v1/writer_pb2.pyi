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
    __slots__ = ("request_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelAllOrdersResponse(_message.Message):
    __slots__ = ("cancelled_orders",)
    CANCELLED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    cancelled_orders: int
    def __init__(self, cancelled_orders: _Optional[int] = ...) -> None: ...

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
