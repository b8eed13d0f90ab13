"""What the broker holds, indexed by orderRef (the idempotency key), and what nobody explains."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from prometheus_client import Gauge

from writer_service.orders import BrokerOrderView

log = logging.getLogger("livegate.writer.reconciliation")

UNEXPLAINED_ORDERS = Gauge(
    "livegate_unexplained_broker_orders",
    "Orders at the broker that carry no livegate orderRef, as of the last reconciliation",
)


def is_explained(view: BrokerOrderView) -> bool:
    # Every order livegate places carries its idempotency key as orderRef; one without came
    # from somewhere else (TWS by hand, another program) and the operator must know about it.
    return bool(view.order_ref)


class ReconciliationIndex:
    """Thread-safe index of broker orders by orderRef and by broker order id."""

    def __init__(self, account_hash: Callable[[str], str]) -> None:
        # Account ids are logged as their keyed hash only.
        self._account_hash = account_hash
        self._lock = threading.Lock()
        self._by_ref: dict[str, BrokerOrderView] = {}
        self._by_id: dict[int, BrokerOrderView] = {}
        self._unexplained: list[BrokerOrderView] = []
        # Told the unexplained orders of every reconciliation (start, reconnect): auto stops.
        self.on_unexplained: Callable[[list[BrokerOrderView]], None] = lambda _views: None

    def rebuild(self, views: Iterable[BrokerOrderView]) -> list[BrokerOrderView]:
        """Replace the index with VIEWS; returns (and reports loudly) the unexplained ones."""
        by_ref: dict[str, BrokerOrderView] = {}
        by_id: dict[int, BrokerOrderView] = {}
        unexplained: list[BrokerOrderView] = []
        for view in views:
            if view.broker_order_id > 0:
                by_id[view.broker_order_id] = view
            if is_explained(view):
                by_ref.setdefault(view.order_ref, view)
            else:
                unexplained.append(view)
        with self._lock:
            self._by_ref, self._by_id, self._unexplained = by_ref, by_id, unexplained
        UNEXPLAINED_ORDERS.set(len(unexplained))
        for view in unexplained:
            log.warning(
                "unexplained order at the broker",
                extra={
                    "broker_order_id": view.broker_order_id,
                    "perm_id": view.perm_id,
                    "account_id_hash": self._account_hash(view.account_id),
                    "status": view.status,
                },
            )
        log.info(
            "reconciled with the broker",
            extra={"orders": len(by_id), "by_ref": len(by_ref), "unexplained": len(unexplained)},
        )
        self.on_unexplained(unexplained)
        return unexplained

    def record(self, view: BrokerOrderView) -> None:
        with self._lock:
            if view.broker_order_id > 0:
                self._by_id[view.broker_order_id] = view
            if view.order_ref:
                self._by_ref[view.order_ref] = view

    def find_ref(self, order_ref: str) -> BrokerOrderView | None:
        with self._lock:
            return self._by_ref.get(order_ref)

    def find_id(self, broker_order_id: int) -> BrokerOrderView | None:
        with self._lock:
            return self._by_id.get(broker_order_id)

    def unexplained(self) -> list[BrokerOrderView]:
        with self._lock:
            return list(self._unexplained)
