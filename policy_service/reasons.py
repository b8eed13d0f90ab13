"""The catalogue of UPPER_SNAKE reasons the policy service puts in ErrorInfo and audit events."""

from __future__ import annotations

from typing import Final

# --- step 2: shape (INVALID_ARGUMENT) -------------------------------------------------------
FIELD_REQUIRED: Final = "FIELD_REQUIRED"
"""A required field or enum is missing (metadata: field)."""
FIELD_TOO_LONG: Final = "FIELD_TOO_LONG"
"""A string exceeds its bound (metadata: field, max_length, length)."""
FIELD_INVALID: Final = "FIELD_INVALID"
"""A string does not match its allowed characters (metadata: field)."""
INVALID_DECIMAL: Final = "INVALID_DECIMAL"
"""A decimal string is not a plain decimal number (metadata: field)."""
QUANTITY_NOT_POSITIVE: Final = "QUANTITY_NOT_POSITIVE"
"""Quantity or price is zero or negative (metadata: field, value)."""
QUANTITY_NOT_WHOLE: Final = "QUANTITY_NOT_WHOLE"
"""Stocks and ETFs trade whole shares (metadata: quantity)."""
PRICE_NOT_ALLOWED: Final = "PRICE_NOT_ALLOWED"
"""A price was given that the order type does not take (metadata: field, order_type)."""
IDEMPOTENCY_KEY_INVALID: Final = "IDEMPOTENCY_KEY_INVALID"
"""The key is not 8..64 characters of [A-Za-z0-9._:-] (metadata: length)."""
CHANGES_EMPTY: Final = "CHANGES_EMPTY"
"""A modify carries no change; refused before any state is written."""
CHANGE_NOT_APPLICABLE: Final = "CHANGE_NOT_APPLICABLE"
"""A change touches a price the order type does not have (metadata: field, order_type)."""
BRACKET_PRICES_INVALID: Final = "BRACKET_PRICES_INVALID"
"""Take-profit and stop-loss are not on the right sides of the entry (metadata: prices)."""
BRACKET_IDS_DUPLICATED: Final = "BRACKET_IDS_DUPLICATED"
"""The three legs of a bracket request name the same preview or approval twice."""

# --- step 3: scope (PERMISSION_DENIED) --------------------------------------------------------
SCOPE_MISSING: Final = "SCOPE_MISSING"
"""The caller's principal lacks the scope of the operation (metadata: principal, scope)."""

# --- step 4: enablement (FAILED_PRECONDITION) -------------------------------------------------
LIVE_TRADING_DISABLED: Final = "LIVE_TRADING_DISABLED"
"""live_trading.enabled or safety.live_trading_enabled is false (metadata: condition)."""
CHECKLIST_NOT_ACKNOWLEDGED: Final = "CHECKLIST_NOT_ACKNOWLEDGED"
"""live_trading.paper_to_live_checklist_acknowledged is false, or no acknowledgement was
recorded (AcknowledgeChecklist) (metadata: condition, detail)."""
CHECKLIST_EXPIRED: Final = "CHECKLIST_EXPIRED"
"""The recorded acknowledgement is older than live_trading.checklist_max_age_days (metadata:
condition, detail with its expiry)."""
CHECKLIST_OUTDATED: Final = "CHECKLIST_OUTDATED"
"""The recorded acknowledgement names another risk-policy digest or livegate version than the
deployed ones (metadata: condition, detail)."""
CHECKLIST_DIGEST_MISMATCH: Final = "CHECKLIST_DIGEST_MISMATCH"
"""AcknowledgeChecklist named another digest than the deployed policy's (metadata: given,
deployed)."""
RISK_POLICY_MISMATCH: Final = "RISK_POLICY_MISMATCH"
"""live_trading.risk_policy_id differs from the deployed policy (metadata: configured, deployed)."""
AUDIT_RETENTION_INSUFFICIENT: Final = "AUDIT_RETENTION_INSUFFICIENT"
"""Retention under 2555 days or purge without export allowed (metadata: retention_days)."""

# --- step 5: account (PERMISSION_DENIED) ------------------------------------------------------
ACCOUNT_NOT_ALLOWED: Final = "ACCOUNT_NOT_ALLOWED"
"""The account is not in live_trading.allowed_accounts (metadata: account_id_hash)."""

# --- step 6: kill switch (FAILED_PRECONDITION) ------------------------------------------------
KILL_SWITCH_CLOSED: Final = "KILL_SWITCH_CLOSED"
"""The kill switch is closed (metadata: version, changed_by)."""
PRINCIPAL_STOPPED: Final = "PRINCIPAL_STOPPED"
"""The caller's principal is stopped (runaway fills) until an operator resets it; cancels still
pass. Checked with the pending row (metadata: principal, stop_reason, stopped_at_us)."""

# --- step 7: audit (UNAVAILABLE) --------------------------------------------------------------
AUDIT_UNAVAILABLE: Final = "AUDIT_UNAVAILABLE"
"""The audit log cannot be written, so the write is refused."""

# --- step 8: preview and approval (FAILED_PRECONDITION) ---------------------------------------
PREVIEW_NOT_FOUND: Final = "PREVIEW_NOT_FOUND"
"""No preview with this id (metadata: preview_id)."""
PREVIEW_EXPIRED: Final = "PREVIEW_EXPIRED"
"""The preview is past its expiry (metadata: preview_id, expires_at)."""
PREVIEW_KIND_MISMATCH: Final = "PREVIEW_KIND_MISMATCH"
"""The preview is of another kind than the operation (metadata: expected, actual)."""
PREVIEW_ACCOUNT_MISMATCH: Final = "PREVIEW_ACCOUNT_MISMATCH"
"""The preview was made for another account."""
PREVIEW_ORDER_MISMATCH: Final = "PREVIEW_ORDER_MISMATCH"
"""A modify names another broker order than its preview (metadata: previewed, requested)."""
MODIFY_CHANGES_MISMATCH: Final = "MODIFY_CHANGES_MISMATCH"
"""The modify's changes differ from the approved replacement's (metadata: field)."""
APPROVAL_NOT_FOUND: Final = "APPROVAL_NOT_FOUND"
"""No approval with this id (metadata: approval_id)."""
APPROVAL_EXPIRED: Final = "APPROVAL_EXPIRED"
"""The approval is past its expiry (metadata: approval_id, expires_at)."""
APPROVAL_CONSUMED: Final = "APPROVAL_CONSUMED"
"""The approval was already used, or is reserved by a request in flight (metadata: approval_id)."""
APPROVAL_PREVIEW_MISMATCH: Final = "APPROVAL_PREVIEW_MISMATCH"
"""The approval references another preview (metadata: approval_id, preview_id)."""
BRACKET_GROUP_MIXED: Final = "BRACKET_GROUP_MIXED"
"""The three legs do not come from one preview group (metadata: groups)."""
BRACKET_LEG_MISMATCH: Final = "BRACKET_LEG_MISMATCH"
"""A preview is not the leg it is submitted as (metadata: expected, actual)."""
FOUR_EYES_REQUIRED: Final = "FOUR_EYES_REQUIRED"
"""ApprovePreview: the approver created the preview (metadata: principal)."""

# --- step 9: risk limits (FAILED_PRECONDITION) ------------------------------------------------
QUANTITY_EXCEEDS_MAX: Final = "QUANTITY_EXCEEDS_MAX"
"""Metadata: max_quantity, quantity."""
NOTIONAL_EXCEEDS_MAX_PER_ORDER: Final = "NOTIONAL_EXCEEDS_MAX_PER_ORDER"
"""Metadata: max_notional, notional."""
PRICE_OUTSIDE_COLLAR: Final = "PRICE_OUTSIDE_COLLAR"
"""The order price is further from the reference than the collar (metadata: collar_bps,
deviation_bps, price, reference_price)."""
REFERENCE_PRICE_STALE: Final = "REFERENCE_PRICE_STALE"
"""Metadata: max_age_s, age_s."""
REFERENCE_PRICE_MISSING: Final = "REFERENCE_PRICE_MISSING"
"""The writer returned no usable bid/ask/last for the instrument."""
SEC_TYPE_NOT_ALLOWED: Final = "SEC_TYPE_NOT_ALLOWED"
"""Metadata: sec_type, allowed."""
SYMBOL_NOT_ALLOWED: Final = "SYMBOL_NOT_ALLOWED"
"""Metadata: symbol."""
ORDER_RATE_EXCEEDED: Final = "ORDER_RATE_EXCEEDED"
"""Submits, modifies and cancels of the account in the last 60 s (metadata: max_per_minute,
count)."""
OPEN_ORDERS_EXCEEDED: Final = "OPEN_ORDERS_EXCEEDED"
"""Metadata: max_open_orders, open_orders, new_orders."""
DAILY_NOTIONAL_EXCEEDED: Final = "DAILY_NOTIONAL_EXCEEDED"
"""Metadata: max_daily_notional, used, notional."""
ORDER_TYPE_NOT_ALLOWED: Final = "ORDER_TYPE_NOT_ALLOWED"
"""The instrument's allowed_order_types omit it; MARKET must be named (metadata: order_type,
allowed)."""
PRICE_NOT_ON_TICK: Final = "PRICE_NOT_ON_TICK"
"""A price is not a multiple of the broker's increment at that price (its market rule, or the
minimum tick) (metadata: field, price, tick). Step 2 checks only the decimal's form."""
REFERENCE_DATA_UNAVAILABLE: Final = "REFERENCE_DATA_UNAVAILABLE"
"""UNAVAILABLE: the broker's contract details, account state or what-if margin could not be had
through the writer (metadata: data, writer_reason)."""
REFERENCE_DATA_STALE: Final = "REFERENCE_DATA_STALE"
"""Contract details or account state older than the policy allows (metadata: data, max_age_s,
age_s)."""
MARKET_CLOSED: Final = "MARKET_CLOSED"
"""The instrument has no trading session now, per its contract details (metadata: time_zone,
now, next_open)."""
OUTSIDE_REGULAR_HOURS: Final = "OUTSIDE_REGULAR_HOURS"
"""In extended hours, and the order does not ask for outside-RTH or the policy does not allow it
(metadata: outside_rth_requested, outside_rth_allowed, regular_opens_at)."""
BLACKOUT_WINDOW: Final = "BLACKOUT_WINDOW"
"""A configured blackout window (gateway restart, weekend maintenance, declared); only cancels
pass (metadata: window, ends_at)."""
MARGIN_INSUFFICIENT: Final = "MARGIN_INSUFFICIENT"
"""Excess liquidity after the order (the preview's what-if) is under the policy's floor
(metadata: min_excess_liquidity, excess_liquidity_after, init_margin_change)."""
POSITION_LIMIT_EXCEEDED: Final = "POSITION_LIMIT_EXCEEDED"
"""The projected net position (broker position + working orders + this one) over the bound
(metadata: max_net_position, projected_net, position, working_buy, working_sell, quantity)."""
GROSS_POSITION_EXCEEDED: Final = "GROSS_POSITION_EXCEEDED"
"""The projected gross position over the bound (metadata: max_gross_position, projected_gross,
position, working_buy, working_sell, quantity)."""
EXPOSURE_LIMIT_EXCEEDED: Final = "EXPOSURE_LIMIT_EXCEEDED"
"""The account's market-value exposure over the bound (metadata: max_gross_exposure, exposure,
gross_position_value, working_notional, notional)."""
DUPLICATE_ORDER_SUSPECTED: Final = "DUPLICATE_ORDER_SUSPECTED"
"""The same account, instrument, side, quantity and price within the window under another key,
not marked intended (metadata: window_s, age_s, duplicate_of)."""
ORDER_EFFICIENCY_RATIO_EXCEEDED: Final = "ORDER_EFFICIENCY_RATIO_EXCEEDED"
"""The day's order messages per executed order over the ceiling (metadata: max_ratio, ratio,
messages_today, executed_today)."""

# --- step 10: idempotency ---------------------------------------------------------------------
IDEMPOTENCY_KEY_REUSED: Final = "IDEMPOTENCY_KEY_REUSED"
"""ALREADY_EXISTS: the key was used with a different request (metadata: idempotency_key)."""
IDEMPOTENCY_IN_PROGRESS: Final = "IDEMPOTENCY_IN_PROGRESS"
"""UNAVAILABLE: a request with this key is in flight; retry later."""

# --- steps 11/12: writer and outcome (UNAVAILABLE unless the writer refused) ------------------
WRITER_UNAVAILABLE: Final = "WRITER_UNAVAILABLE"
"""The writer could not be reached; nothing was sent (metadata: grpc_code)."""
WRITER_IDENTITY_MISMATCH: Final = "WRITER_IDENTITY_MISMATCH"
"""The peer at writer.address does not present writer.expected_san; nothing is sent to it.
Reported as WRITER_UNAVAILABLE with this value in metadata writer_reason."""
WRITER_OUTCOME_UNKNOWN: Final = "WRITER_OUTCOME_UNKNOWN"
"""The call may have reached the broker; the key stays pending and a retry settles it."""
WRITER_REFUSED: Final = "WRITER_REFUSED"
"""The writer or broker refused (status code copied from the writer; its reason in metadata)."""
OUTCOME_NOT_RECORDED: Final = "OUTCOME_NOT_RECORDED"
"""UNAVAILABLE: the writer answered but the outcome could not be stored; a retry settles it."""

# --- other methods ----------------------------------------------------------------------------
WRITER_ORDER_NOT_FOUND: Final = "WRITER_ORDER_NOT_FOUND"
"""CreateModifyPreview: the writer does not know the broker order (NOT_FOUND)."""
ORDER_ACCOUNT_MISMATCH: Final = "ORDER_ACCOUNT_MISMATCH"
"""CreateModifyPreview: the broker order belongs to another account (PERMISSION_DENIED)."""
KILL_SWITCH_OPEN_REFUSED: Final = "KILL_SWITCH_OPEN_REFUSED"
"""SetKillSwitch OPEN while an enablement condition fails (metadata: failed conditions)."""
PRINCIPAL_NOT_STOPPED: Final = "PRINCIPAL_NOT_STOPPED"
"""ResetPrincipalStop: the principal is not stopped (NOT_FOUND, metadata: principal)."""
AUDIT_EXPORT_REQUIRED: Final = "AUDIT_EXPORT_REQUIRED"
"""PurgeAudit: no verified export covers the events past retention."""
AUDIT_RETENTION_NOT_REACHED: Final = "AUDIT_RETENTION_NOT_REACHED"
"""PurgeAudit: no event is past retention (metadata: retention_days, cutoff)."""
AUDIT_CHAIN_INVALID: Final = "AUDIT_CHAIN_INVALID"
"""Export/purge refused because the chain does not verify (metadata: problem, event_id)."""
AUDIT_HASH_MISMATCH: Final = "AUDIT_HASH_MISMATCH"
"""VerifyAudit: an event's stored hash differs from the recomputed one."""
AUDIT_CHAIN_GAP: Final = "AUDIT_CHAIN_GAP"
"""VerifyAudit: an event id is missing (removed)."""
AUDIT_CHAIN_BROKEN: Final = "AUDIT_CHAIN_BROKEN"
"""VerifyAudit: an event's prev_hash is not the previous event's hash."""
AUDIT_HEAD_MISMATCH: Final = "AUDIT_HEAD_MISMATCH"
"""VerifyAudit: the last events were removed (the chain head names a later event)."""
INTERNAL_ERROR: Final = "INTERNAL_ERROR"
"""An unexpected error; logged with the request id, nothing half-written."""
