"""The store's part for order life: each fill and status change recorded once, audited, and
counted off the order's open count and exposure."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from policy_service.domain import order_life as life
from policy_service.domain.order_life import OrderLink, OrderStatusReport
from policy_service.domain.ports import StoreUnavailable
from policy_service.domain.reference import Fill
from policy_service.storage import audit_store, raw
from policy_service.storage.idempotency import _uncount
from policy_service.storage.part import StorePart
from policy_service.storage.tables import (
    fills,
    idempotency_records,
    open_orders,
    order_statuses,
)

log = logging.getLogger(__name__)
# Bounded IN lists: a pass after a restart reads the whole day's executions again.
_CHUNK: Final = 500
_NO_COMMISSION: Final = ""


def _day(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d")


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class OrderLifeStore(StorePart):
    """Fills (the runaway stop's rows) and order statuses: their audit events and the
    open-order accounting that follows them."""

    def record_fills(self, account_hash: str, items: Sequence[Fill], now_us: int = 0) -> int:
        """Record the executions not seen yet and the commissions that arrived since; how
        many executions were new. Each is linked to its key when livegate placed its order."""
        if not items:
            return 0
        now_us = now_us or time.time_ns() // 1000
        try:
            with self._reader() as conn:
                known = _known(conn, [f.exec_id for f in items])
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        todo = [f for f in items if _news(f, known)]
        if not todo:
            return 0  # the usual pass: nothing to lock for
        with self._tx() as conn:
            # The chain head first: replicas record one at a time, and a replica holding a
            # fill row never waits for the head while another holds the head and waits for it.
            raw.first(conn, raw.statements(conn).head_locked)
            known = _known(conn, [f.exec_id for f in todo])
            links = _links(conn, account_hash, todo)
            fresh = 0
            for f in todo:
                link = links.get(life.key_of(f.order_ref)) if f.order_ref else None
                if f.exec_id not in known:
                    self._record_fill(conn, account_hash, f, link, now_us)
                    known[f.exec_id] = _commission_text(f)
                    fresh += 1
                elif _news(f, known):
                    self._record_commission(conn, account_hash, f, link, now_us)
                    known[f.exec_id] = _commission_text(f)
            return fresh

    def record_statuses(
        self, account_hash: str, reports: Sequence[OrderStatusReport], now_us: int
    ) -> int:
        """Audit each of livegate's orders whose status or filled quantity changed since the
        last one recorded; an order that ended stops counting as open. How many changed."""
        if not reports:
            return 0
        ids = [r.broker_order_id for r in reports]
        try:
            with self._reader() as conn:
                links = _links_of_refs(conn, account_hash, [r.order_ref for r in reports])
                # An orderRef livegate did not record is no order of its own (its fills are
                # reported as such): only livegate's orders have a status here.
                ours = [r for r in reports if life.key_of(r.order_ref) in links]
                changed = _status_changes(ours, _statuses(conn, account_hash, ids))
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        if not changed:
            return 0  # the usual pass: nothing to lock for
        with self._tx() as conn:
            raw.first(conn, raw.statements(conn).head_locked)  # as record_fills: one at a time
            stored = _statuses(conn, account_hash, ids)
            changed = _status_changes(changed, stored)
            for r in changed:
                link = links[life.key_of(r.order_ref)]
                _store_status(conn, account_hash, r, link.key, r.broker_order_id in stored, now_us)
                previous = stored.get(r.broker_order_id, ("", ""))[0]
                draft = life.status_draft(r, account_hash, link, previous)
                audit_store.append(conn, self.chain.keyring, draft, now_us)
                if r.status in life.ENDED:
                    _uncount(conn, account_hash, [r.broker_order_id], now_us)
            return len(changed)

    def _record_fill(
        self, conn: Connection, account_hash: str, f: Fill, link: OrderLink | None, now_us: int
    ) -> None:
        corrects = _corrected(conn, f.exec_id)
        conn.execute(
            insert(fills).values(
                exec_id=f.exec_id,
                account_hash=account_hash,
                day=_day(f.time_us),
                broker_order_id=f.broker_order_id,
                idempotency_key=link.key if link is not None else "",
                principal=link.principal if link is not None else "",
                con_id=f.con_id,
                action=f.action.value,
                quantity=str(f.quantity),
                price=str(f.price),
                time_us=f.time_us,
                commission=_commission_text(f),
                cum_quantity="" if f.cum_quantity is None else str(f.cum_quantity),
            )
        )
        draft = life.fill_draft(f, account_hash, link, corrects)
        audit_store.append(conn, self.chain.keyring, draft, now_us)
        if link is not None:
            _count_off(conn, account_hash, f, now_us)
            return
        # Reported, never linked: the operator must learn of trading livegate did not do.
        log.warning(
            "an execution for an order livegate did not place",
            extra={"account_hash": account_hash, "broker_order_id": f.broker_order_id,
                   "exec_id": f.exec_id},
        )  # fmt: skip

    def _record_commission(
        self, conn: Connection, account_hash: str, f: Fill, link: OrderLink | None, now_us: int
    ) -> None:
        conn.execute(
            update(fills)
            .where(fills.c.exec_id == f.exec_id, fills.c.commission == _NO_COMMISSION)
            .values(commission=_commission_text(f))
        )
        draft = life.commission_draft(f, account_hash, link)
        audit_store.append(conn, self.chain.keyring, draft, now_us)


def _commission_text(f: Fill) -> str:
    return _NO_COMMISSION if f.commission is None else str(f.commission)


def _news(f: Fill, known: dict[str, str]) -> bool:
    """A fill not recorded yet, or one whose commission arrived after it was."""
    stored = known.get(f.exec_id)
    return stored is None or (stored == _NO_COMMISSION and f.commission is not None)


def _known(conn: Connection, exec_ids: Sequence[str]) -> dict[str, str]:
    """exec id -> the commission stored with it ("" while none), for those recorded."""
    out: dict[str, str] = {}
    for chunk in _chunks(sorted(set(exec_ids))):
        rows = conn.execute(
            select(fills.c.exec_id, fills.c.commission).where(fills.c.exec_id.in_(chunk))
        ).all()
        out.update({r.exec_id: r.commission for r in rows})
    return out


def _links(conn: Connection, account_hash: str, items: Sequence[Fill]) -> dict[str, OrderLink]:
    """The keys livegate recorded for this account among the fills' orderRefs."""
    return _links_of_refs(conn, account_hash, [f.order_ref for f in items])


def _links_of_refs(
    conn: Connection, account_hash: str, refs: Sequence[str]
) -> dict[str, OrderLink]:
    rec = idempotency_records.c
    keys = sorted({life.key_of(ref) for ref in refs if ref})
    out: dict[str, OrderLink] = {}
    for chunk in _chunks(keys):
        rows = conn.execute(
            select(rec.idempotency_key, rec.principal).where(
                rec.idempotency_key.in_(chunk), rec.account_hash == account_hash
            )
        ).all()
        out.update({r.idempotency_key: OrderLink(r.idempotency_key, r.principal) for r in rows})
    return out


def _corrected(conn: Connection, exec_id: str) -> str:
    """The exec id a correction revises (same base, lower revision), or ""."""
    base = life.correction_base(exec_id)
    if base == exec_id or exec_id.endswith(".01"):
        return ""
    rows = conn.execute(
        select(fills.c.exec_id).where(fills.c.exec_id.like(f"{base}.%"), fills.c.exec_id < exec_id)
    ).scalars()
    return max(rows, default="")


def _count_off(conn: Connection, account_hash: str, f: Fill, now_us: int) -> None:
    """A complete fill ends the order's count now; a partial one leaves less of it working."""
    if life.completes(f):
        _uncount(conn, account_hash, [f.broker_order_id], now_us)
        return
    if f.cum_quantity is None:
        return
    o = open_orders.c
    where = (o.account_hash == account_hash, o.broker_order_id == f.broker_order_id)
    row = conn.execute(select(o.filled).where(*where)).first()
    if row is None or Decimal(row.filled) >= f.cum_quantity:
        return  # not counted (ended already), or a later execution counted first
    conn.execute(
        update(open_orders).where(*where).values(filled=str(f.cum_quantity), filled_at_us=now_us)
    )


def _statuses(
    conn: Connection, account_hash: str, ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """broker order id -> (status, filled) recorded last, for those recorded."""
    st = order_statuses.c
    out: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(st.broker_order_id, st.status, st.filled).where(
                st.account_hash == account_hash,
                st.broker_order_id.in_(list(ids[start : start + _CHUNK])),
            )
        ).all()
        out.update({int(r.broker_order_id): (r.status, r.filled) for r in rows})
    return out


def _status_changes(
    reports: Sequence[OrderStatusReport], stored: dict[int, tuple[str, str]]
) -> list[OrderStatusReport]:
    out = []
    for r in reports:
        before = stored.get(r.broker_order_id)
        if before is None or before[0] != r.status or Decimal(before[1]) != r.filled:
            out.append(r)
    return out


def _store_status(
    conn: Connection, account_hash: str, r: OrderStatusReport, key: str, known: bool, now_us: int
) -> None:
    st = order_statuses.c
    values = {"status": r.status, "filled": str(r.filled), "updated_at_us": now_us}
    if known:
        conn.execute(
            update(order_statuses)
            .where(st.account_hash == account_hash, st.broker_order_id == r.broker_order_id)
            .values(**values)
        )
        return
    conn.execute(
        insert(order_statuses).values(
            account_hash=account_hash,
            broker_order_id=r.broker_order_id,
            idempotency_key=key,
            **values,
        )
    )
