"""The catalogue of UPPER_SNAKE reasons the policy service puts in ErrorInfo and audit events."""

from __future__ import annotations

from typing import Final

# --- step 2: shape (INVALID_ARGUMENT) -------------------------------------------------------
FIELD_REQUIRED: Final = "FIELD_REQUIRED"
"""A required field or enum is missing (metadata: field)."""
FIELD_TOO_LONG: Final = "FIELD_TOO_LONG"
"""A string exceeds its bound (metadata: field, max_length, length)."""
FIELD_INVALID: Final = "FIELD_INVALID"
"""A string does not match its allowed characters (metadata: field); any text field that holds a
control (Cc, NUL included), format/bidi (Cf) or line/paragraph separator (Zl, Zp) character is
refused so, before anything is stored (metadata: field, code_point as U+XXXX)."""
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
FOUR_EYES_DISABLED: Final = "FOUR_EYES_DISABLED"
"""approvals.four_eyes is false (metadata: condition). Config refuses it with live trading on,
so a live gate never sees it; GetLiveStatus shows the condition either way."""

# --- step 5: account (PERMISSION_DENIED) ------------------------------------------------------
ACCOUNT_NOT_ALLOWED: Final = "ACCOUNT_NOT_ALLOWED"
"""The account is not in live_trading.allowed_accounts (metadata: account_id_hash)."""

# --- step 6: kill switch (FAILED_PRECONDITION) ------------------------------------------------
KILL_SWITCH_CLOSED: Final = "KILL_SWITCH_CLOSED"
"""The kill switch is closed (metadata: version, changed_by)."""
KILL_SWITCH_CHANGED: Final = "KILL_SWITCH_CHANGED"
"""SetKillSwitch REDUCING found the switch changed (another replica closed it) between its read
and its store: nothing stored; the writer may already be REDUCING, which a close only tightens
(metadata: version, state as read)."""
KILL_SWITCH_REDUCING_BRACKET: Final = "KILL_SWITCH_REDUCING_BRACKET"
"""The global kill switch is REDUCING and this is a bracket (its entry opens a position): refused
at step 6 (metadata: version, changed_by). Cancels pass REDUCING; submits and modifies pass step
6 as reduce-only (their audit events carry kill_switch_state REDUCING) and the writer judges
them against the broker's positions: WRITER_KILL_SWITCH_REDUCING_* below."""
# Automatic stops: the reason a close carries (the switch's reason, the close's audit event,
# operator auto:<trigger>); writes after it are refused KILL_SWITCH_CLOSED.
AUTO_STOP_UNEXPLAINED_ORDER: Final = "AUTO_STOP_UNEXPLAINED_ORDER"
"""An order at the broker that livegate did not place (evidence: broker_order_ids, perm_ids,
account_id_hashes, statuses, seen_at)."""
AUTO_STOP_SESSION_LOST: Final = "AUTO_STOP_SESSION_LOST"
"""The writer's broker session lost longer than after_s (evidence: seconds_disconnected,
limit_s)."""
AUTO_STOP_AUDIT_WRITE_FAILURE: Final = "AUTO_STOP_AUDIT_WRITE_FAILURE"
"""The audit store failed a write (evidence: error_class, error, method, request_id,
refusal_reason)."""
AUTO_STOP_PROBE_MISMATCH: Final = "AUTO_STOP_PROBE_MISMATCH"
"""The writer's permission probe no longer matches its role (evidence: verdict, role,
probe_trigger, failed_checks, probed_at)."""
AUTO_STOP_BROKER_REJECTIONS: Final = "AUTO_STOP_BROKER_REJECTIONS"
"""N broker rejections in a row (evidence: rejections, last_rejections as JSON: operation,
broker_error_code, message)."""
AUTO_STOP_DEAD_MAN_LEASE: Final = "AUTO_STOP_DEAD_MAN_LEASE"
"""A principal's dead-man lease lapsed: its principal scope closed (operator
auto:dead_man_lease) and the orders livegate placed for it cancelled (evidence: principal,
ttl_s, renewed_at_us, expires_at_us, lapsed_for_ms, claimed_by). Not the global switch."""
PRINCIPAL_STOPPED: Final = "PRINCIPAL_STOPPED"
"""The caller's principal is stopped (runaway fills) until an operator resets it; cancels still
pass. Checked with the pending row (metadata: principal, stop_reason, stopped_at_us)."""
SCOPE_STOPPED_ACCOUNT: Final = "SCOPE_STOPPED_ACCOUNT"
"""An operator stopped the account (SetScopedStop): previews, approvals and writes for it are
refused; cancels pass (metadata: scope_kind, scope as the account hash, version, changed_by)."""
SCOPE_STOPPED_PRINCIPAL: Final = "SCOPE_STOPPED_PRINCIPAL"
"""An operator stopped the principal: its previews, approvals and writes are refused, and so are
approvals of previews it created; its cancels pass (metadata: scope_kind, scope, version,
changed_by)."""
SCOPE_STOPPED_STRATEGY: Final = "SCOPE_STOPPED_STRATEGY"
"""An operator stopped the strategy tag: previews, approvals and writes carrying it are refused;
cancels pass (metadata: scope_kind, scope, version, changed_by)."""

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
APPROVAL_REVOKED: Final = "APPROVAL_REVOKED"
"""A kill-switch close revoked the approval; preview and approve again (metadata: approval_id,
revoked_at_us)."""
APPROVAL_PREVIEW_MISMATCH: Final = "APPROVAL_PREVIEW_MISMATCH"
"""The approval references another preview (metadata: approval_id, preview_id)."""
BRACKET_GROUP_MIXED: Final = "BRACKET_GROUP_MIXED"
"""The three legs do not come from one preview group (metadata: groups)."""
BRACKET_LEG_MISMATCH: Final = "BRACKET_LEG_MISMATCH"
"""A preview is not the leg it is submitted as (metadata: expected, actual)."""
STRATEGY_MISMATCH: Final = "STRATEGY_MISMATCH"
"""The write's strategy tag differs from its preview's (metadata: previewed, requested)."""
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
"""ABORTED: a request with this key is in flight (or being settled); retry the same key later."""

# --- steps 11/12: writer and outcome (UNAVAILABLE unless the writer refused) ------------------
WRITER_UNAVAILABLE: Final = "WRITER_UNAVAILABLE"
"""The writer could not be reached; nothing was sent (metadata: grpc_code)."""
WRITER_IDENTITY_MISMATCH: Final = "WRITER_IDENTITY_MISMATCH"
"""The peer at writer.address does not present writer.expected_san; nothing is sent to it.
Reported as WRITER_UNAVAILABLE with this value in metadata writer_reason."""
WRITER_OUTCOME_UNKNOWN: Final = "WRITER_OUTCOME_UNKNOWN"
"""The call may have reached the broker (the writer's BROKER_TIMEOUT or BROKER_OUTCOME_UNKNOWN,
a deadline, an internal error): the key stays pending, its approvals reserved, and a retry of
the same key settles it (metadata: writer_reason, grpc_code, the writer's metadata)."""
WRITER_REFUSED: Final = "WRITER_REFUSED"
"""The writer refused with no reason of its own (status code copied from the writer)."""
BRACKET_PARTIALLY_PLACED: Final = "BRACKET_PARTIALLY_PLACED"
"""FAILED_PRECONDITION: only part of a bracket is at the broker; the writer cancelled its working
legs unless the entry had filled. The key is closed (not REFUSED) and its approvals are spent
(metadata: each leg's found/status/broker_order_id/filled, cancelled_broker_order_ids)."""

# --- step 11: the writer's own reasons, passed through as the reason (and writer_reason) ------
# A write is refused (key REFUSED, approvals released, notional refunded) only when nothing of
# it is at the broker: the writer read the broker back (BROKER_REJECTED, ORDER_REF_MISMATCH, and
# for cancels and modifies the order's state), or refused a first attempt before sending
# (WRITER_KILL_SWITCH_CLOSED, INVALID_ARGUMENT / PERMISSION_DENIED / NOT_FOUND). When settling,
# a refusal before sending says nothing of the first attempt: the key stays pending.
WRITER_KILL_SWITCH_CLOSED: Final = "WRITER_KILL_SWITCH_CLOSED"
"""FAILED_PRECONDITION: the writer's own kill switch is closed; nothing was sent."""
# The writer's switch is REDUCING and it judged the order before sending anything (metadata:
# account_id_hash, symbol, side, quantity, and position and working_same_side where read):
WRITER_KILL_SWITCH_REDUCING_INCREASES: Final = "WRITER_KILL_SWITCH_REDUCING_INCREASES"
"""FAILED_PRECONDITION: the order adds to the position (or opens one from flat)."""
WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO: Final = "WRITER_KILL_SWITCH_REDUCING_CROSSES_ZERO"
"""FAILED_PRECONDITION: with the same-side orders still working, it would take the position past
zero."""
WRITER_KILL_SWITCH_REDUCING_UNJUDGED: Final = "WRITER_KILL_SWITCH_REDUCING_UNJUDGED"
"""FAILED_PRECONDITION: the broker's positions could not be read (session down, no answer), or
the switch turned REDUCING while the write waited: refused, fail closed."""
WRITER_KILL_SWITCH_REDUCING_BRACKET: Final = "WRITER_KILL_SWITCH_REDUCING_BRACKET"
"""FAILED_PRECONDITION: a bracket reached a writer whose switch is REDUCING."""
WRITER_PERMISSION_UNPROVEN: Final = "WRITER_PERMISSION_UNPROVEN"
"""FAILED_PRECONDITION: the writer's last permission probe did not match its role (its gateway
changed); it holds every write until a later probe matches; nothing was sent (metadata:
verdict, probed_at). GetLiveStatus shows the evidence under writer.permission."""
WRITER_ROLE_READ_ONLY: Final = "WRITER_ROLE_READ_ONLY"
"""PERMISSION_DENIED: an R writer sends no write at all, whatever its gateway allows."""
WRITER_ROLE_PAPER_ONLY: Final = "WRITER_ROLE_PAPER_ONLY"
"""PERMISSION_DENIED: an ABH writer writes to paper (DU) accounts only (metadata: not_paper)."""
WRITER_ROLE_LIVE_ONLY: Final = "WRITER_ROLE_LIVE_ONLY"
"""PERMISSION_DENIED: a W writer writes to live (U) accounts only (metadata: not_live)."""
BROKER_REJECTED: Final = "BROKER_REJECTED"
"""FAILED_PRECONDITION: read back, the broker holds no working or filled order from the write
(a modify: it kept the old values). Metadata: broker_error_code, broker_messages (JSON)."""
ORDER_REF_MISMATCH: Final = "ORDER_REF_MISMATCH"
"""FAILED_PRECONDITION: an order with this key as orderRef is at the broker and differs from the
request (account, side, quantity, instrument or price); nothing was sent."""
ORDER_NOT_MODIFIABLE: Final = "ORDER_NOT_MODIFIABLE"
"""FAILED_PRECONDITION: the order is done (or of a kind livegate does not modify)."""
CANCEL_NOT_CONFIRMED: Final = "CANCEL_NOT_CONFIRMED"
"""FAILED_PRECONDITION: after the cancel the broker keeps the order working (metadata: status,
filled, the broker's messages). Cancel again with a new key."""
ORDER_FILLED_BEFORE_CANCEL: Final = "ORDER_FILLED_BEFORE_CANCEL"
"""FAILED_PRECONDITION: the order filled before the cancel reached it (metadata: filled,
avg_fill_price)."""
ORDER_NOT_FOUND: Final = "ORDER_NOT_FOUND"
"""NOT_FOUND: the writer knows no such order; nothing was sent."""
BROKER_TIMEOUT: Final = "BROKER_TIMEOUT"
"""The writer's, in metadata writer_reason of WRITER_OUTCOME_UNKNOWN (or WRITER_UNAVAILABLE for
a read): the broker did not answer within broker.request_timeout_s."""
BROKER_OUTCOME_UNKNOWN: Final = "BROKER_OUTCOME_UNKNOWN"
"""The writer's, in writer_reason of WRITER_OUTCOME_UNKNOWN: a read-back query did not answer
(metadata: unanswered)."""
OUTCOME_NOT_RECORDED: Final = "OUTCOME_NOT_RECORDED"
"""UNAVAILABLE: the writer answered but the outcome could not be stored; a retry settles it."""

# --- other methods ----------------------------------------------------------------------------
WRITER_ORDER_NOT_FOUND: Final = "WRITER_ORDER_NOT_FOUND"
"""CreateModifyPreview: the writer does not know the broker order (NOT_FOUND)."""
ORDER_ACCOUNT_MISMATCH: Final = "ORDER_ACCOUNT_MISMATCH"
"""CreateModifyPreview: the broker order belongs to another account (PERMISSION_DENIED)."""
KILL_SWITCH_OPEN_REFUSED: Final = "KILL_SWITCH_OPEN_REFUSED"
"""SetKillSwitch OPEN or ConfirmReopen while a live-status condition fails (step 4, metadata:
failed conditions). Checked at the request and again at the confirmation."""
REOPEN_AUDIT_UNVERIFIED: Final = "REOPEN_AUDIT_UNVERIFIED"
"""SetKillSwitch OPEN or ConfirmReopen while VerifyAudit does not pass (step 7,
FAILED_PRECONDITION; metadata: audit_problem, anchor_state, audit_head_event_id)."""
REOPEN_SAME_OPERATOR: Final = "REOPEN_SAME_OPERATOR"
"""ConfirmReopen (or a second SetKillSwitch OPEN) by the operator who requested the pending
reopen: a second, different operator must confirm (step 6, PERMISSION_DENIED; metadata:
reopen_id, requested_by)."""
REOPEN_ALREADY_PENDING: Final = "REOPEN_ALREADY_PENDING"
"""SetKillSwitch OPEN by another operator while a reopen is pending: confirm it with
ConfirmReopen instead (step 6, FAILED_PRECONDITION; metadata: reopen_id, requested_by)."""
REOPEN_NOT_REQUESTED: Final = "REOPEN_NOT_REQUESTED"
"""ConfirmReopen names no pending reopen: never requested, already confirmed, cancelled by a
close or superseded; or the switch changed since the request (step 6, FAILED_PRECONDITION;
metadata: reopen_id, state)."""
REOPEN_EXPIRED: Final = "REOPEN_EXPIRED"
"""ConfirmReopen after the request's window (kill_switch.reopen_confirm_window_s) ended
(step 6, FAILED_PRECONDITION; metadata: reopen_id, expired_at_us)."""
PRINCIPAL_NOT_STOPPED: Final = "PRINCIPAL_NOT_STOPPED"
"""ResetPrincipalStop: the principal is not stopped (NOT_FOUND, metadata: principal)."""
SCOPE_ACCOUNT_NOT_ALLOWED: Final = "SCOPE_ACCOUNT_NOT_ALLOWED"
"""SetScopedStop names an account not in live_trading.allowed_accounts (NOT_FOUND, nothing
stored; metadata: scope_kind, account_id_hash)."""
SCOPE_PRINCIPAL_UNKNOWN: Final = "SCOPE_PRINCIPAL_UNKNOWN"
"""SetScopedStop names a principal the policy's config does not map (NOT_FOUND, nothing stored;
metadata: scope_kind, principal)."""
SCOPE_NOT_STOPPED: Final = "SCOPE_NOT_STOPPED"
"""SetScopedStop OPEN of a scope that is neither closed nor reducing (NOT_FOUND; metadata:
scope_kind, scope)."""
SCOPE_REDUCING_INCREASES: Final = "SCOPE_REDUCING_INCREASES"
"""A new order or modify in a REDUCING scope that would add to the account's position in the
instrument, or open one from flat (step 6, FAILED_PRECONDITION; metadata: scope_kind, scope,
position, side, quantity, working)."""
SCOPE_REDUCING_CROSSES_ZERO: Final = "SCOPE_REDUCING_CROSSES_ZERO"
"""A new order or modify in a REDUCING scope that, with the same-side orders livegate has
working for the account and instrument, would take the position past zero (step 6,
FAILED_PRECONDITION; metadata: scope_kind, scope, position, side, quantity, working)."""
SCOPE_REDUCING_BRACKET: Final = "SCOPE_REDUCING_BRACKET"
"""A bracket (write or preview) in a REDUCING scope: its entry opens a position, so it is never
reduce-only (step 6, FAILED_PRECONDITION; metadata: scope_kind, scope)."""
SCOPE_REDUCING_POSITION_STALE: Final = "SCOPE_REDUCING_POSITION_STALE"
"""A new order or modify in a REDUCING scope when the account's position could not be read
from the broker through the writer, or was older than kill_switch.reducing_position_max_age_s,
or the instrument's contract id is unknown: refused, never judged on a guess (step 6,
FAILED_PRECONDITION; metadata: scope_kind, scope, why, and age_s/max_age_s when old)."""
REOPEN_TARGET_MISMATCH: Final = "REOPEN_TARGET_MISMATCH"
"""SetScopedStop by a second operator asking another state than the pending loosening of the
scope requested (OPEN against REDUCING, or the reverse): nothing stored; confirm with the same
state, or close the scope and request again (step 6, FAILED_PRECONDITION; metadata:
scope_kind, scope, requested_by, pending_target, asked)."""
SCOPE_CHANGED: Final = "SCOPE_CHANGED"
"""SetScopedStop OPEN raced another change of the same scope (a close, another operator): nothing
stored; read it and try again (ABORTED, step 6; metadata: scope_kind, scope)."""
KILL_SWITCH_CLOSE_NOT_STORED: Final = "KILL_SWITCH_CLOSE_NOT_STORED"
"""UNAVAILABLE: SetKillSwitch CLOSED closed this replica (in memory) and was sent to the writer,
but could not be stored; the replica stays closed and retries the store in the background
(metadata: replica_state, writer_state, writer_in_flight, stored)."""
KILL_SWITCH_CLOSED_TEXT_REFUSED: Final = "KILL_SWITCH_CLOSED_TEXT_REFUSED"
"""INVALID_ARGUMENT: SetKillSwitch CLOSED whose reason holds a refused character: the switch was
closed anyway and stored with that character escaped (metadata: field, code_point,
replica_state, writer_state, stored, audit_event_id)."""
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
AUDIT_LINK_MISMATCH: Final = "AUDIT_LINK_MISMATCH"
"""VerifyAudit: a keyed event's link is not the HMAC of its content under its key (edited,
or relinked without the key)."""
AUDIT_KEY_UNKNOWN: Final = "AUDIT_KEY_UNKNOWN"
"""VerifyAudit: an event names a key id the keyring does not hold (metadata: key_id)."""
AUDIT_KEY_DOWNGRADE: Final = "AUDIT_KEY_DOWNGRADE"
"""VerifyAudit: an unkeyed (legacy sha256) event after the keyed chain began, or a chain whose
newest event is unkeyed."""
AUDIT_KEY_SWITCH_UNRECORDED: Final = "AUDIT_KEY_SWITCH_UNRECORDED"
"""VerifyAudit: the key changes at an event that is not a rotation naming the old key's last
link."""
AUDIT_PURGE_UNRECORDED: Final = "AUDIT_PURGE_UNRECORDED"
"""VerifyAudit: the chain starts later than its last recorded purge says (events removed
without a purge event, or the purge pointer moved)."""
AUDIT_PURGE_EXPORT_MISMATCH: Final = "AUDIT_PURGE_EXPORT_MISMATCH"
"""VerifyAudit: the export a purge event names no longer matches the manifest digest it
recorded, or (on a full walk) its file no longer matches the manifest's sha256."""
AUDIT_CHAIN_TRUNCATED: Final = "AUDIT_CHAIN_TRUNCATED"
"""VerifyAudit: an anchor (or this process) saw events the chain no longer holds, or holds
others in their place (cut back, then appended to again); names the first one that differs."""
AUDIT_ANCHOR_REWOUND: Final = "AUDIT_ANCHOR_REWOUND"
"""VerifyAudit: the anchor file lost anchors this process wrote (an older anchor replayed)."""
AUDIT_ANCHOR_INVALID: Final = "AUDIT_ANCHOR_INVALID"
"""VerifyAudit: an anchor in the anchor file fails its MAC, sequence or link to the one before."""
AUDIT_ANCHOR_MISSING: Final = "AUDIT_ANCHOR_MISSING"
"""VerifyAudit: no anchor covers the chain although it holds events older than the anchor
interval (not ok, not broken: see the runbook)."""
AUDIT_ANCHOR_BEHIND: Final = "AUDIT_ANCHOR_BEHIND"
"""VerifyAudit: events this process appended are older than the anchor interval and still
unanchored (the anchor file cannot be written?)."""
AUDIT_PURGE_POINT_UNKNOWN: Final = "AUDIT_PURGE_POINT_UNKNOWN"
"""PurgeAudit: the database's purge function found no event with the planned id and link."""
AUDIT_MANIFEST_INVALID: Final = "AUDIT_MANIFEST_INVALID"
"""verify-export: the manifest's MAC fails, or its file's digest, count or range differs."""

# --- dead-man leases (RenewLease, ReleaseLease) ------------------------------------------------
LEASE_TTL_OUT_OF_RANGE: Final = "LEASE_TTL_OUT_OF_RANGE"
"""INVALID_ARGUMENT (step 2): ttl_s outside dead_man.min_ttl_s..dead_man.max_ttl_s
(metadata: ttl_s, min_ttl_s, max_ttl_s)."""
LEASE_DISABLED: Final = "LEASE_DISABLED"
"""FAILED_PRECONDITION (step 4): dead_man.enabled is false; no lease is kept or watched
(metadata: condition)."""
LEASE_LAPSED: Final = "LEASE_LAPSED"
"""FAILED_PRECONDITION (step 6): the caller's lease lapsed and is (being) acted on; an operator
reopens the caller's principal scope, then the next RenewLease starts a new lease (metadata:
principal, expires_at_us, stopped_at_us, scope_state)."""
LEASE_NOT_FOUND: Final = "LEASE_NOT_FOUND"
"""NOT_FOUND (step 6): ReleaseLease by a caller holding no lease (metadata: principal)."""

# --- flood control ----------------------------------------------------------------------------
REFUSAL_RATE_EXCEEDED: Final = "REFUSAL_RATE_EXCEEDED"
"""RESOURCE_EXHAUSTED: the principal was refused more often than audit.refusal_limit_per_min
within the minute; its calls are answered without running until the minute ends (metadata:
refusals, limit_per_min, retry_after_s)."""
INTERNAL_ERROR: Final = "INTERNAL_ERROR"
"""An unexpected error; logged with the request id, nothing half-written."""
