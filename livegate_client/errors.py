"""Refusals as exceptions: one class per family, each carrying reason, gate step and numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import grpc
from google.rpc import error_details_pb2, status_pb2

from livegate_client.reasons import Family, family_of, is_retryable

ERROR_DOMAIN: Final = "livegate.v1"
_STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"


class LivegateError(Exception):
    """A call the gate refused or could not answer.

    reason: the UPPER_SNAKE reason of the google.rpc.ErrorInfo ("" when the status had none);
    gate_step: the step that decided (0 when not a gate step); metadata: the numbers behind
    the verdict; idempotency_key: the key the call was sent with (send it again, never a new
    one, to settle a write whose outcome is open); attempts: how many times it was sent.
    """

    family: Family = Family.UNKNOWN

    def __init__(
        self,
        *,
        code: grpc.StatusCode,
        reason: str,
        message: str,
        metadata: Mapping[str, str],
        request_id: str,
        idempotency_key: str | None = None,
        attempts: int = 1,
    ):
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata: dict[str, str] = dict(metadata)
        self.gate_step = _int(self.metadata.get("gate_step", "0"))
        self.request_id = self.metadata.get("request_id") or request_id
        self.idempotency_key = idempotency_key
        self.attempts = attempts
        label = reason or code.name
        super().__init__(f"{label} (step {self.gate_step}, {code.name}): {message}")

    @property
    def retryable(self) -> bool:
        """True when the same request may still settle: the outcome is not decided."""
        return is_retryable(self.reason, self.code)


class InvalidRequestError(LivegateError):
    """Step 2: the request is malformed (a field, a decimal, a price off tick, a key)."""

    family = Family.SHAPE


class ScopeError(LivegateError):
    """Steps 3 and 5: the caller lacks the scope, or the account is not allowed to it."""

    family = Family.SCOPE


class EnablementError(LivegateError):
    """Step 4: live trading is not enabled on this deployment."""

    family = Family.ENABLEMENT


class KillSwitchError(LivegateError):
    """Step 6: the kill switch is closed (or a reopen was refused)."""

    family = Family.KILL_SWITCH


class AuditError(LivegateError):
    """Step 7 and the audit methods: the audit trail cannot take or give what was asked."""

    family = Family.AUDIT


class ApprovalError(LivegateError):
    """Step 8: the preview or approval is missing, expired, consumed or does not match."""

    family = Family.APPROVAL


class LimitError(LivegateError):
    """Step 9: a risk limit of the deployed policy refused the order."""

    family = Family.LIMITS


class IdempotencyError(LivegateError):
    """Step 10: the key was used for another request, or its request is still in flight."""

    family = Family.IDEMPOTENCY


class WriterError(LivegateError):
    """Steps 11 and 12: the writer refused, was unreachable, or its answer was not recorded."""

    family = Family.WRITER


class GateInternalError(LivegateError):
    """The gate hit an unexpected error; nothing was half-written."""

    family = Family.INTERNAL


class TransportError(LivegateError):
    """No answer from the gate at all (connection, TLS, deadline): nothing says it decided."""

    family = Family.TRANSPORT


FAMILY_CLASSES: Final[Mapping[Family, type[LivegateError]]] = {
    cls.family: cls
    for cls in (
        InvalidRequestError, ScopeError, EnablementError, KillSwitchError, AuditError,
        ApprovalError, LimitError, IdempotencyError, WriterError, GateInternalError,
        TransportError, LivegateError,
    )
}  # fmt: skip


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def error_info(trailing: Iterable[Any] | None) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo packed in a status's trailing metadata (key, value pairs), or None."""
    for key, value in trailing or ():
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return info
    return None


def from_rpc_error(
    error: grpc.RpcError,
    *,
    request_id: str,
    idempotency_key: str | None = None,
    attempts: int = 1,
) -> LivegateError:
    """Decode a failed call (sync or asyncio) into the exception of its family."""
    code = error.code()
    details = error.details() or ""
    info = error_info(error.trailing_metadata())
    reason = info.reason if info is not None else ""
    metadata = dict(info.metadata) if info is not None else {}
    step = _int(metadata.get("gate_step", "0"))
    cls = FAMILY_CLASSES[family_of(reason, step, code)]
    return cls(
        code=code,
        reason=reason,
        message=details,
        metadata=metadata,
        request_id=request_id,
        idempotency_key=idempotency_key,
        attempts=attempts,
    )
