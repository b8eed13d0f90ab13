"""Which family each gate reason belongs to, and which answers a retry with the same key settles."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

import grpc


class Family(enum.Enum):
    """The kinds of refusal a caller handles differently; each has its own exception class."""

    SHAPE = "shape"
    SCOPE = "scope"
    ENABLEMENT = "enablement"
    KILL_SWITCH = "kill_switch"
    AUDIT = "audit"
    APPROVAL = "approval"
    LIMITS = "limits"
    IDEMPOTENCY = "idempotency"
    WRITER = "writer"
    INTERNAL = "internal"
    TRANSPORT = "transport"
    UNKNOWN = "unknown"


_S, _P, _E, _K = Family.SHAPE, Family.SCOPE, Family.ENABLEMENT, Family.KILL_SWITCH
_A, _V, _L, _I, _W = Family.AUDIT, Family.APPROVAL, Family.LIMITS, Family.IDEMPOTENCY, Family.WRITER

# Every reason the policy service sends (policy_service/reasons.py, and the two its server
# plumbing sends before the gate runs; a test keeps this table and those equal).
REASON_FAMILIES: Final[Mapping[str, Family]] = {
    # step 1 and the plumbing: an unmapped certificate, an undecodable request
    "PRINCIPAL_NOT_CONFIGURED": _P, "MALFORMED_REQUEST": _S,
    # step 2: shape
    "FIELD_REQUIRED": _S, "FIELD_TOO_LONG": _S, "FIELD_INVALID": _S, "INVALID_DECIMAL": _S,
    "QUANTITY_NOT_POSITIVE": _S, "QUANTITY_NOT_WHOLE": _S,
    "PRICE_NOT_ALLOWED": _S, "IDEMPOTENCY_KEY_INVALID": _S, "CHANGES_EMPTY": _S,
    "CHANGE_NOT_APPLICABLE": _S, "BRACKET_PRICES_INVALID": _S, "BRACKET_IDS_DUPLICATED": _S,
    # steps 3 and 5: who may do what, on which account
    "SCOPE_MISSING": _P, "ACCOUNT_NOT_ALLOWED": _P, "ORDER_ACCOUNT_MISMATCH": _P,
    "WRITER_ROLE_READ_ONLY": _P, "WRITER_ROLE_PAPER_ONLY": _P, "WRITER_ROLE_LIVE_ONLY": _P,
    # step 4: live enablement
    "LIVE_TRADING_DISABLED": _E, "CHECKLIST_NOT_ACKNOWLEDGED": _E, "RISK_POLICY_MISMATCH": _E,
    "AUDIT_RETENTION_INSUFFICIENT": _E, "FOUR_EYES_DISABLED": _E, "CHECKLIST_EXPIRED": _E,
    "CHECKLIST_OUTDATED": _E, "CHECKLIST_DIGEST_MISMATCH": _E,
    # step 6 (and the operator's reopen, a close that closed but says what went wrong, and the
    # writer's own switch at step 11)
    "KILL_SWITCH_CLOSED": _K, "KILL_SWITCH_OPEN_REFUSED": _K, "KILL_SWITCH_CLOSE_NOT_STORED": _K,
    "KILL_SWITCH_CLOSED_TEXT_REFUSED": _K, "WRITER_KILL_SWITCH_CLOSED": _K,
    # ... the global switch REDUCING: a bracket at step 6, the writer's reduce-only verdicts
    "KILL_SWITCH_REDUCING_BRACKET": _K, "KILL_SWITCH_CHANGED": _K,
    "WRITER_KILL_SWITCH_REDUCING_INCREASES": _K, "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO": _K,
    "WRITER_KILL_SWITCH_REDUCING_UNJUDGED": _K, "WRITER_KILL_SWITCH_REDUCING_BRACKET": _K,
    # ... the guarded reopen (a second operator confirms; the audit must verify)
    "REOPEN_AUDIT_UNVERIFIED": _K, "REOPEN_SAME_OPERATOR": _K, "REOPEN_ALREADY_PENDING": _K,
    "REOPEN_NOT_REQUESTED": _K, "REOPEN_EXPIRED": _K,
    # ... and a principal's own stop (runaway fills), and the operator's reset of it
    "PRINCIPAL_STOPPED": _K, "PRINCIPAL_NOT_STOPPED": _K,
    # ... and an operator's stop of one account, principal or strategy (SetScopedStop)
    "SCOPE_STOPPED_ACCOUNT": _K, "SCOPE_STOPPED_PRINCIPAL": _K, "SCOPE_STOPPED_STRATEGY": _K,
    "SCOPE_ACCOUNT_NOT_ALLOWED": _K, "SCOPE_PRINCIPAL_UNKNOWN": _K, "SCOPE_NOT_STOPPED": _K,
    "SCOPE_CHANGED": _K, "REOPEN_TARGET_MISMATCH": _K,
    # ... and a REDUCING scope: only cancels and orders towards a flat position pass
    "SCOPE_REDUCING_INCREASES": _K, "SCOPE_REDUCING_CROSSES_ZERO": _K,
    "SCOPE_REDUCING_BRACKET": _K, "SCOPE_REDUCING_POSITION_STALE": _K,
    # ... and the reasons an automatic stop closes with (docs/live-runbook.md, section 1)
    "AUTO_STOP_UNEXPLAINED_ORDER": _K, "AUTO_STOP_SESSION_LOST": _K,
    "AUTO_STOP_AUDIT_WRITE_FAILURE": _K, "AUTO_STOP_PROBE_MISMATCH": _K,
    "AUTO_STOP_BROKER_REJECTIONS": _K, "AUTO_STOP_DEAD_MAN_LEASE": _K,
    # ... and the caller's dead-man lease (RenewLease, ReleaseLease)
    "LEASE_TTL_OUT_OF_RANGE": _S, "LEASE_DISABLED": _E, "LEASE_LAPSED": _K,
    "LEASE_NOT_FOUND": _K,
    # step 7 and the audit methods
    "AUDIT_UNAVAILABLE": _A, "AUDIT_EXPORT_REQUIRED": _A, "AUDIT_RETENTION_NOT_REACHED": _A,
    "AUDIT_CHAIN_INVALID": _A, "AUDIT_HASH_MISMATCH": _A, "AUDIT_CHAIN_GAP": _A,
    "AUDIT_CHAIN_BROKEN": _A, "AUDIT_HEAD_MISMATCH": _A, "AUDIT_LINK_MISMATCH": _A,
    "AUDIT_CHAIN_TRUNCATED": _A, "AUDIT_KEY_DOWNGRADE": _A, "AUDIT_KEY_UNKNOWN": _A,
    "AUDIT_KEY_SWITCH_UNRECORDED": _A, "AUDIT_ANCHOR_MISSING": _A, "AUDIT_ANCHOR_BEHIND": _A,
    "AUDIT_ANCHOR_INVALID": _A, "AUDIT_ANCHOR_REWOUND": _A, "AUDIT_MANIFEST_INVALID": _A,
    "AUDIT_PURGE_UNRECORDED": _A, "AUDIT_PURGE_EXPORT_MISMATCH": _A,
    "AUDIT_PURGE_POINT_UNKNOWN": _A,
    # step 8: preview and approval
    "PREVIEW_NOT_FOUND": _V, "PREVIEW_EXPIRED": _V, "PREVIEW_KIND_MISMATCH": _V,
    "PREVIEW_ACCOUNT_MISMATCH": _V, "PREVIEW_ORDER_MISMATCH": _V, "MODIFY_CHANGES_MISMATCH": _V,
    "APPROVAL_NOT_FOUND": _V, "APPROVAL_EXPIRED": _V, "APPROVAL_CONSUMED": _V,
    "APPROVAL_REVOKED": _V,
    "APPROVAL_PREVIEW_MISMATCH": _V, "BRACKET_GROUP_MIXED": _V, "BRACKET_LEG_MISMATCH": _V,
    "FOUR_EYES_REQUIRED": _V, "STRATEGY_MISMATCH": _V,
    # step 9: risk limits
    "QUANTITY_EXCEEDS_MAX": _L, "NOTIONAL_EXCEEDS_MAX_PER_ORDER": _L, "PRICE_OUTSIDE_COLLAR": _L,
    "REFERENCE_PRICE_STALE": _L, "REFERENCE_PRICE_MISSING": _L, "SEC_TYPE_NOT_ALLOWED": _L,
    "SYMBOL_NOT_ALLOWED": _L, "ORDER_RATE_EXCEEDED": _L, "OPEN_ORDERS_EXCEEDED": _L,
    "DAILY_NOTIONAL_EXCEEDED": _L, "PRICE_NOT_ON_TICK": _L, "ORDER_TYPE_NOT_ALLOWED": _L,
    "REFERENCE_DATA_UNAVAILABLE": _L, "REFERENCE_DATA_STALE": _L, "MARKET_CLOSED": _L,
    "OUTSIDE_REGULAR_HOURS": _L, "BLACKOUT_WINDOW": _L, "MARGIN_INSUFFICIENT": _L,
    "POSITION_LIMIT_EXCEEDED": _L, "GROSS_POSITION_EXCEEDED": _L, "EXPOSURE_LIMIT_EXCEEDED": _L,
    "DUPLICATE_ORDER_SUSPECTED": _L, "ORDER_EFFICIENCY_RATIO_EXCEEDED": _L,
    # step 1's throttle: too many refusals this minute (retry after `retry_after_s`)
    "REFUSAL_RATE_EXCEEDED": _L,
    # step 10: idempotency
    "IDEMPOTENCY_KEY_REUSED": _I, "IDEMPOTENCY_IN_PROGRESS": _I,
    # steps 11 and 12: the writer, and recording its answer
    "WRITER_UNAVAILABLE": _W, "WRITER_IDENTITY_MISMATCH": _W, "WRITER_OUTCOME_UNKNOWN": _W,
    "WRITER_REFUSED": _W, "OUTCOME_NOT_RECORDED": _W, "WRITER_ORDER_NOT_FOUND": _W,
    "WRITER_PERMISSION_UNPROVEN": _W, "BRACKET_PARTIALLY_PLACED": _W,
    # the writer's reasons, passed through: what the broker's truth, read back, said
    "BROKER_REJECTED": _W, "ORDER_REF_MISMATCH": _W, "ORDER_NOT_MODIFIABLE": _W,
    "CANCEL_NOT_CONFIRMED": _W, "ORDER_FILLED_BEFORE_CANCEL": _W, "ORDER_NOT_FOUND": _W,
    # only ever in metadata writer_reason of WRITER_OUTCOME_UNKNOWN / WRITER_UNAVAILABLE
    "BROKER_TIMEOUT": _W, "BROKER_OUTCOME_UNKNOWN": _W,
    # an unexpected error: nothing half-written
    "INTERNAL_ERROR": Family.INTERNAL,
}  # fmt: skip

# A reason this client does not know (a newer server's, or one the writer relays at step 11)
# still lands in a family: by the gate step in the ErrorInfo metadata, else by status code.
STEP_FAMILIES: Final[Mapping[int, Family]] = {
    2: _S, 3: _P, 4: _E, 5: _P, 6: _K, 7: _A, 8: _V, 9: _L, 10: _I, 11: _W, 12: _W,
}  # fmt: skip
CODE_FAMILIES: Final[Mapping[grpc.StatusCode, Family]] = {
    grpc.StatusCode.INVALID_ARGUMENT: _S,
    grpc.StatusCode.PERMISSION_DENIED: _P,
    grpc.StatusCode.UNAUTHENTICATED: _P,
    grpc.StatusCode.ALREADY_EXISTS: _I,
    grpc.StatusCode.INTERNAL: Family.INTERNAL,
}

# Answers that leave the outcome open, so the same request (same key) is sent again. Any
# UNAVAILABLE status is retryable too: nothing was done, or the key stays pending.
RETRYABLE_REASONS: Final = frozenset(
    {"IDEMPOTENCY_IN_PROGRESS", "WRITER_OUTCOME_UNKNOWN", "OUTCOME_NOT_RECORDED"}
)
RETRYABLE_CODES: Final = frozenset({grpc.StatusCode.UNAVAILABLE})


def family_of(reason: str, gate_step: int, code: grpc.StatusCode) -> Family:
    """The family of a refusal: by its reason, else its gate step, else its status code."""
    known = REASON_FAMILIES.get(reason)
    if known is not None:
        return known
    by_step = STEP_FAMILIES.get(gate_step)
    if by_step is not None:
        return by_step
    if not reason and code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Family.TRANSPORT  # no ErrorInfo: the gate never answered
    return CODE_FAMILIES.get(code, Family.UNKNOWN)


def is_retryable(reason: str, code: grpc.StatusCode) -> bool:
    """Whether sending the same request again can settle it.

    An attempt that ran out of its own deadline (no ErrorInfo: the client gave up) is as open
    as WRITER_OUTCOME_UNKNOWN, so it is retried too, within the call's total deadline.
    """
    if reason in RETRYABLE_REASONS or code in RETRYABLE_CODES:
        return True
    return not reason and code is grpc.StatusCode.DEADLINE_EXCEEDED
