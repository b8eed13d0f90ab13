"""Domain errors of the writer: a kind (mapped to a gRPC code by the servicer) and a reason."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime


class ErrorKind(enum.Enum):
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    NOT_FOUND = "NOT_FOUND"
    UNAVAILABLE = "UNAVAILABLE"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"


class WriterError(Exception):
    """A refusal with an UPPER_SNAKE reason and the numbers that tripped it."""

    def __init__(
        self,
        kind: ErrorKind,
        reason: str,
        message: str,
        metadata: Mapping[str, object] | None = None,
    ):
        super().__init__(f"{reason}: {message}")
        self.kind = kind
        self.reason = reason
        self.message = message
        self.metadata = {k: str(v) for k, v in (metadata or {}).items()}


def invalid(reason: str, field: str, message: str, **metadata: object) -> WriterError:
    return WriterError(ErrorKind.INVALID_ARGUMENT, reason, message, {"field": field, **metadata})


def kill_switch_closed(reason: str, version: int) -> WriterError:
    return WriterError(
        ErrorKind.FAILED_PRECONDITION,
        "WRITER_KILL_SWITCH_CLOSED",
        f"the writer's kill switch is closed: {reason}",
        {"version": version},
    )


def close_unconfirmed(timeout_s: float) -> WriterError:
    return WriterError(
        ErrorKind.UNAVAILABLE,
        "WRITER_CLOSE_UNCONFIRMED",
        "the switch is closed, but the writer's broker loop did not answer within "
        f"{timeout_s}s: a write that passed the switch before the close may still be sent",
        {"timeout_s": timeout_s},
    )


def broker_unavailable(message: str) -> WriterError:
    return WriterError(ErrorKind.UNAVAILABLE, "BROKER_UNAVAILABLE", message)


def broker_timeout(what: str, timeout_s: float) -> WriterError:
    return WriterError(
        ErrorKind.DEADLINE_EXCEEDED,
        "BROKER_TIMEOUT",
        f"the broker did not answer {what} within {timeout_s}s",
        {"timeout_s": timeout_s},
    )


def broker_rejected(
    code: int, message: str, order_id: int | None = None, **metadata: object
) -> WriterError:
    """The broker holds no working or filled order from this write (read back to be sure)."""
    meta: dict[str, object] = {"broker_error_code": code, **metadata}
    if order_id is not None:
        meta["broker_order_id"] = order_id
    return WriterError(ErrorKind.FAILED_PRECONDITION, "BROKER_REJECTED", message, meta)


def broker_outcome_unknown(what: str, unanswered: str, **metadata: object) -> WriterError:
    """The write may be at the broker: a read-back query did not answer. Settle, never resend."""
    return WriterError(
        ErrorKind.DEADLINE_EXCEEDED,
        "BROKER_OUTCOME_UNKNOWN",
        f"the broker's answer to {what} is not known: {unanswered} did not answer",
        {"unanswered": unanswered, **metadata},
    )


def order_ref_mismatch(ref: str, **metadata: object) -> WriterError:
    """An order with this orderRef is at the broker, and it is not the requested one."""
    return WriterError(
        ErrorKind.FAILED_PRECONDITION,
        "ORDER_REF_MISMATCH",
        "the broker holds an order with this orderRef that differs from the request "
        "(account, side, quantity, instrument or price); nothing was sent",
        {"order_ref": ref, **metadata},
    )


def order_not_found(what: str) -> WriterError:
    return WriterError(ErrorKind.NOT_FOUND, "ORDER_NOT_FOUND", f"the broker holds no order {what}")


def account_not_managed(account_hash: str) -> WriterError:
    # The keyed hash, never the id: the metadata travels on and may be logged.
    return WriterError(
        ErrorKind.PERMISSION_DENIED,
        "ACCOUNT_NOT_MANAGED",
        "this writer does not manage that account",
        {"account_id_hash": account_hash},
    )


def permission_unproven(verdict: str, probed_at: datetime) -> WriterError:
    return WriterError(
        ErrorKind.FAILED_PRECONDITION,
        "WRITER_PERMISSION_UNPROVEN",
        f"the last permission probe said {verdict}; writes wait for one that matches the role",
        {"verdict": verdict, "probed_at": probed_at.isoformat()},
    )


def kill_switch_reducing_bracket(version: int) -> WriterError:
    """A bracket opens a position (its entry) before it protects one: never while REDUCING."""
    return WriterError(
        ErrorKind.FAILED_PRECONDITION,
        "WRITER_KILL_SWITCH_REDUCING_BRACKET",
        "the writer's kill switch is REDUCING: brackets are refused; cancels and "
        "position-reducing orders pass",
        {"version": version},
    )


def kill_switch_reducing_refused(verdict: str, **numbers: object) -> WriterError:
    """An order the reduce-only rule judged INCREASES or CROSSES_ZERO, with the numbers."""
    what = "adds to the position" if verdict == "INCREASES" else "would take the position past zero"
    return WriterError(
        ErrorKind.FAILED_PRECONDITION,
        f"WRITER_KILL_SWITCH_REDUCING_{verdict}",
        f"the writer's kill switch is REDUCING and this order {what}",
        numbers,
    )


def kill_switch_reducing_unjudged(why: str, **metadata: object) -> WriterError:
    """No verdict could be reached (positions unknown, session down): fail closed."""
    return WriterError(
        ErrorKind.FAILED_PRECONDITION,
        "WRITER_KILL_SWITCH_REDUCING_UNJUDGED",
        f"the writer's kill switch is REDUCING and the order could not be judged: {why}",
        metadata,
    )
