"""What a close touched, as audit detail: the writes in doubt then and what cancel-all did."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from policy_service.domain.ports import CancelAllResult, CancelledOrder, Store, StoreUnavailable

# An audit event stays small: past this many keys the count says how many were left out.
MAX_KEYS = 100


def pending_detail(store: Store) -> dict[str, str]:
    """The idempotency keys with no outcome yet (PENDING or UNKNOWN) and their accounts' hashes."""
    try:
        rows = store.unsettled_keys(MAX_KEYS + 1)
    except StoreUnavailable:
        # The close goes ahead regardless; the event says the list could not be read.
        return {"pending_keys": "", "pending_keys_unread": "store unavailable"}
    shown = rows[:MAX_KEYS]
    detail = {
        "pending_keys": ",".join(key for key, _ in shown),
        "pending_account_id_hashes": ",".join(sorted({h for _, h in shown})),
    }
    if len(rows) > MAX_KEYS:
        detail["pending_keys_truncated_at"] = str(MAX_KEYS)
    return detail


def cancel_detail(result: CancelAllResult, account_hash: Callable[[str], str]) -> dict[str, str]:
    """Broker order ids (bracket legs each by its own id) and the accounts as their hashes."""
    touched = (*result.cancelled, *result.still_working)
    return {
        "cancelled": str(len(result.cancelled)),
        "cancelled_broker_order_ids": _ids(result.cancelled),
        "cancelled_order_refs": ",".join(o.order_ref for o in result.cancelled),
        "still_working_broker_order_ids": _ids(result.still_working),
        "foreign_orders_left": str(result.foreign_left),
        "broker_wide": str(result.broker_wide).lower(),
        "account_id_hashes": ",".join(sorted({account_hash(o.account_id) for o in touched})),
    }


def _ids(orders: Iterable[CancelledOrder]) -> str:
    return ",".join(str(o.broker_order_id) for o in orders)
