"""Orders that ended at the broker stop counting towards max_open_orders."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from policy_service.domain.ports import Clock, Store, StoreUnavailable, Writer, WriterError

log = logging.getLogger(__name__)


class OpenOrderSync:
    """Keeps the open-orders count to the orders still working at the broker.

    The gate counts an order as open from its recorded outcome on, and uncounts it when it
    cancels it. An order that fills, or is cancelled outside the gate (the kill switch's
    cancel-all, the broker, TWS), would otherwise count for ever: the account would be refused
    once max_open_orders orders had ever been placed.

    The account's counted orders are read first, then the writer lists what still works at the
    broker. An order counted before the list was asked for was placed before it, so if it still
    works, the list has it: only the counted ones missing from the list stop counting. Orders
    placed meanwhile were not in the first read and are left alone. When the store or the
    writer cannot answer, nothing changes: the count may stay too high, never go too low.
    """

    def __init__(
        self,
        store: Store,
        writer: Writer,
        accounts: Iterable[str],
        account_hash: Callable[[str], str],
        clock: Clock | None = None,
    ):
        self._store = store
        self._writer = writer
        self._accounts = sorted(accounts)
        self._hash = account_hash
        # When an order stopped counting is remembered (the position checks read it) by the
        # gate's clock.
        self._clock = clock

    def run(self) -> int:
        """One pass over the allowed accounts; how many orders stopped counting."""
        return sum(self._account(account) for account in self._accounts)

    def _account(self, account: str) -> int:
        account_hash = self._hash(account)
        try:
            counted = self._store.open_order_ids(account_hash)
        except StoreUnavailable as exc:
            log.warning("open orders not read", extra={"error": str(exc)[:200]})
            return 0
        if not counted:
            return 0
        try:
            working = set(self._writer.open_order_ids(account))
        except WriterError as err:
            log.info("open orders not checked with the writer", extra={"reason": err.reason})
            return 0
        ended = counted - working
        if not ended:
            return 0
        try:
            now = self._clock.now_us() if self._clock is not None else 0
            removed = self._store.forget_open_orders(account_hash, ended, now)
        except StoreUnavailable as exc:
            log.warning("ended orders still counted", extra={"error": str(exc)[:200]})
            return 0
        log.info(
            "orders ended at the broker no longer count as open",
            extra={"account_hash": account_hash, "orders": removed},
        )
        return removed
