"""livegate_client: call the livegate policy service from an upstream service (sync or asyncio)."""

from __future__ import annotations

from importlib import metadata

from livegate_client.aio import AsyncClient
from livegate_client.channel import TlsFiles
from livegate_client.client import Client
from livegate_client.errors import (
    ApprovalError,
    AuditError,
    EnablementError,
    GateInternalError,
    IdempotencyError,
    InvalidRequestError,
    KillSwitchError,
    LimitError,
    LivegateError,
    ScopeError,
    TransportError,
    WriterError,
)
from livegate_client.keys import new_key
from livegate_client.models import (
    Action,
    Approval,
    BracketPreview,
    BracketResult,
    BrokerOrder,
    Instrument,
    KillSwitch,
    KillSwitchChange,
    KillSwitchState,
    Lease,
    LeaseState,
    LiveStatus,
    Order,
    OrderChanges,
    OrderType,
    Preview,
    ReopenRequest,
    SecType,
    TimeInForce,
    WriteResult,
)
from livegate_client.reasons import Family
from livegate_client.retry import RetryPolicy

try:
    __version__ = metadata.version("livegate")
except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Action",
    "Approval",
    "ApprovalError",
    "AsyncClient",
    "AuditError",
    "BracketPreview",
    "BracketResult",
    "BrokerOrder",
    "Client",
    "EnablementError",
    "Family",
    "GateInternalError",
    "IdempotencyError",
    "Instrument",
    "InvalidRequestError",
    "KillSwitch",
    "KillSwitchChange",
    "KillSwitchError",
    "KillSwitchState",
    "Lease",
    "LeaseState",
    "LimitError",
    "LiveStatus",
    "LivegateError",
    "Order",
    "OrderChanges",
    "OrderType",
    "Preview",
    "ReopenRequest",
    "RetryPolicy",
    "ScopeError",
    "SecType",
    "TimeInForce",
    "TlsFiles",
    "TransportError",
    "WriteResult",
    "WriterError",
    "__version__",
    "new_key",
]  # fmt: skip
