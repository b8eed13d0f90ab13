"""Step 10 and 12 storage: pending rows, approval reservations, account usage, outcomes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, delete, insert, literal, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain.audit import AuditDraft
from policy_service.domain.denials import closed, switch_reducing_bracket
from policy_service.domain.ports import BeginResult, IdemRecord, PendingWrite, StoreUnavailable
from policy_service.domain.usage import Usage, UsageQuery
from policy_service.storage import audit_store, raw, raw_risk
from policy_service.storage.pinned import PinnedReads
from policy_service.storage.rows import switch_from
from policy_service.storage.tables import (
    account_usage,
    approvals,
    ended_orders,
    idempotency_records,
    open_orders,
    rate_buckets,
)

MINUTE_US = 60_000_000
NO_EXTRAS = UsageQuery()
_FORGET_CHUNK = 500


class _Abort(Exception):
    """Rolls the transaction back and carries the answer out of it."""

    def __init__(self, result: BeginResult):
        super().__init__("rollback")
        self.result = result


class IdempotencyStore(PinnedReads):
    """The part of SqlStore that serialises live writes; row locks and unique keys, no mutexes."""

    _dialect: str

    def _tx(self) -> Any:  # provided by SqlStore
        raise NotImplementedError

    def get_record(self, key: str) -> IdemRecord | None:
        with self._reader() as conn:
            return self._record(conn, key)

    def usage(
        self, account_hash: str, day: str, now_us: int, query: UsageQuery = NO_EXTRAS
    ) -> Usage:
        with self._reader() as conn:
            usage = self._usage(conn, account_hash, day, now_us)
            extras = raw_risk.extra_steps(conn, query, account_hash, day, "")
            return raw_risk.with_extras(usage, query, [raw.run(conn, q, a) for q, a in extras])

    def begin(
        self,
        pending: PendingWrite,
        check_usage: Callable[[Usage], m.Denial | None],
        draft: AuditDraft,
        now_us: int,
        query: UsageQuery = NO_EXTRAS,
    ) -> BeginResult:
        """Step 10 in one transaction: pending row, approval reservations, usage, audit.

        Two round trips on PostgreSQL: the reads and locks up to the usage check, then the
        usage update, the audit event and the COMMIT. The account's usage row stays locked
        from the first to the commit, so the figures checked are the ones written against.
        """
        try:
            with self._write_begin() as conn:
                q = raw.statements(conn)
                where = {"b_account": pending.account_hash, "b_day": pending.day}
                params = _usage_params(pending.account_hash, pending.day, now_us, pending.key)
                # The event's JSON and hash pieces now, not while the usage row is locked.
                event = audit_store.prepare(draft, now_us, self.chain.keyring.current_id)
                # Sorted, so two brackets sharing approvals lock them in the same order.
                approval_ids = sorted(pending.approval_ids)
                steps: list[raw.Step] = [
                    (q.switch, None),
                    (q.record, {"b_key": pending.key}),
                    (q.insert_record, _record_values(pending, now_us)),
                    *[
                        (q.reserve_approval, {"b_id": a, "b_now": now_us, "b_key": pending.key})
                        for a in approval_ids
                    ],
                    # The account's usage row is its lock: limit checks of one account run one
                    # at a time. Its figures are read by the next statement, whose snapshot is
                    # taken once the lock is held, so it sees the last holder's commit.
                    (q.usage_row_locked, where),
                    (q.usage_all, params),
                ]
                fixed = len(steps)
                # After the usage row's lock: each reads what the account's last decision left.
                extras = raw_risk.extra_steps(
                    conn, query, pending.account_hash, pending.day, pending.key
                )
                steps += extras
                # One round trip. Whatever is found below, the statements after it only ran
                # inside this transaction, which then rolls back: nothing of them stays.
                cursors = raw.batch(conn, steps)
                try:
                    switch = switch_from(raw.one_of(cursors[0], q.switch))
                    if switch.state is m.SwitchState.CLOSED:
                        raise _Abort(BeginResult(denial=closed(switch)))
                    # REDUCING: reduce-only writes go on (the writer judges them); a bracket
                    # that step 6 let through before the switch moved does not.
                    if switch.state is m.SwitchState.REDUCING and pending.kind is m.Kind.BRACKET:
                        raise _Abort(BeginResult(denial=switch_reducing_bracket(switch)))
                    existing = raw.first_of(cursors[1], q.record)
                    if existing is not None:
                        raise _Abort(BeginResult(existing=_idem_record(existing)))
                    if raw.count_of(cursors[2]) != 1:
                        raise _Raced("another request inserted this key first")
                    for approval_id, cursor in zip(
                        approval_ids, cursors[3 : fixed - 2], strict=True
                    ):
                        if raw.count_of(cursor) != 1:
                            raise _Abort(BeginResult(denial=_approval_taken(conn, approval_id)))
                    row = raw.first_of(cursors[fixed - 2], q.usage_row_locked)
                    figures = raw.first_of(cursors[fixed - 1], q.usage_all)
                    usage = None if row is None else _usage_from(figures)
                    if usage is not None:
                        usage = raw_risk.with_extras(usage, query, cursors[fixed:])
                finally:
                    for cursor in cursors:
                        cursor.close()
                if row is None or usage is None:
                    # The account's first write of the day: make the row, lock it, read again.
                    raw.run(conn, q.ensure_usage, where).close()
                    row = raw.one(conn, q.usage_row_locked, where)
                    figures = raw.one(conn, q.usage_all, params)
                    usage = raw_risk.with_extras(
                        _usage_from(figures), query, [raw.run(conn, a, b) for a, b in extras]
                    )
                denial = check_usage(usage)
                if denial is not None:
                    raise _Abort(BeginResult(denial=denial))
                notional = str(Decimal(row.daily_notional) + pending.notional)
                set_usage = (
                    q.set_usage,
                    {**where, "b_notional": notional, "b_messages": pending.messages},
                )
                event_id = audit_store.append(
                    conn, self.chain.keyring, event, now_us, [set_usage], commit=True
                )
                return BeginResult(started=True, audit_event_id=event_id)
        except _Abort as abort:
            return abort.result
        except (_Raced, IntegrityError) as exc:
            # Another request (maybe on another replica) inserted this key first.
            record = self.get_record(pending.key)
            if record is None:
                raise StoreUnavailable(str(exc)) from exc
            return BeginResult(existing=record)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def _usage(
        self, conn: Connection, account_hash: str, day: str, now_us: int, exclude: str = ""
    ) -> Usage:
        params = _usage_params(account_hash, day, now_us, exclude)
        return _usage_from(raw.one(conn, raw.statements(conn).usage_all, params))

    def finish(
        self,
        key: str,
        status: str,
        outcome: Mapping[str, Any] | None,
        opened: Sequence[int],
        closed: Sequence[int],
        draft: AuditDraft,
        now_us: int,
    ) -> int:
        """Step 12 in one transaction: outcome, approvals consumed or released, audit.

        Two round trips on PostgreSQL: lock and read the record, then every write, the audit
        event and the COMMIT (the rare refusal and cancel writes run on their own before).
        """
        with self._tx() as conn:
            q = raw.statements(conn)
            record = self._record(conn, key, lock=True)
            if record is None:
                raise RuntimeError(f"no idempotency record {key}")
            ids = list(record.approval_ids)
            if status == "REFUSED":
                if ids:
                    conn.execute(
                        update(approvals)
                        .where(approvals.c.approval_id.in_(ids), approvals.c.reserved_key == key)
                        .values(reserved_key=None)
                    )
                self._refund(conn, record)
            if closed:
                _uncount(conn, record.account_hash, closed, now_us)
            steps: list[raw.Step] = [
                (
                    q.set_outcome,
                    {
                        "b_key": key,
                        "b_status": status,
                        "b_outcome": json.dumps(outcome) if outcome is not None else None,
                        "b_now": now_us,
                    },
                )
            ]
            # PARTIAL: part of a bracket reached the broker, so its approvals are spent too.
            if status in ("SUCCEEDED", "PARTIAL"):
                steps += [
                    (q.consume_approval, {"b_id": approval_id, "b_key": key, "b_now": now_us})
                    for approval_id in ids
                ]
            steps += [
                (
                    q.insert_open,
                    {
                        "account_hash": record.account_hash,
                        "broker_order_id": broker_id,
                        "idempotency_key": key,
                        "opened_at_us": now_us,
                    },
                )
                for broker_id in opened
            ]
            return audit_store.append(conn, self.chain.keyring, draft, now_us, steps, commit=True)

    def _refund(self, conn: Connection, record: IdemRecord) -> None:
        if record.notional <= 0:
            return
        where = (account_usage.c.account_hash == record.account_hash) & (
            account_usage.c.day == record.day
        )
        row = conn.execute(
            select(account_usage.c.daily_notional).where(where).with_for_update()
        ).first()
        if row is not None:
            left = max(Decimal(0), Decimal(row.daily_notional) - record.notional)
            conn.execute(update(account_usage).where(where).values(daily_notional=str(left)))

    def mark_unknown(self, key: str, draft: AuditDraft, now_us: int) -> int:
        with self._tx() as conn:
            conn.execute(
                update(idempotency_records)
                .where(idempotency_records.c.idempotency_key == key)
                .values(status="UNKNOWN", updated_at_us=now_us)
            )
            return audit_store.append(conn, self.chain.keyring, draft, now_us, commit=True)

    def claim_for_settlement(self, key: str, now_us: int, stale_before_us: int) -> bool:
        """UNKNOWN (or PENDING left by a crash) -> PENDING, for exactly one settling request."""
        rec = idempotency_records
        with self._tx() as conn:
            result = conn.execute(
                update(rec)
                .where(
                    rec.c.idempotency_key == key,
                    (rec.c.status == "UNKNOWN")
                    | ((rec.c.status == "PENDING") & (rec.c.updated_at_us < stale_before_us)),
                )
                .values(status="PENDING", updated_at_us=now_us)
            )
            return result.rowcount == 1

    def open_order_ids(self, account_hash: str) -> set[int]:
        """Broker ids of the account's orders the open-orders limit counts now."""
        try:
            with self._reader() as conn:
                rows = conn.execute(
                    select(open_orders.c.broker_order_id).where(
                        open_orders.c.account_hash == account_hash
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return {int(row.broker_order_id) for row in rows}

    def unsettled_keys(self, limit: int) -> list[tuple[str, str]]:
        """(key, account hash) of writes with no outcome yet (PENDING or UNKNOWN), oldest
        first, at most LIMIT: what a close records as in doubt at that moment."""
        rec = idempotency_records
        try:
            with self._reader() as conn:
                rows = conn.execute(
                    select(rec.c.idempotency_key, rec.c.account_hash)
                    .where(rec.c.status.in_(("PENDING", "UNKNOWN")))
                    .order_by(rec.c.created_at_us, rec.c.idempotency_key)
                    .limit(limit)
                ).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [(str(r.idempotency_key), str(r.account_hash)) for r in rows]

    def forget_open_orders(
        self, account_hash: str, broker_order_ids: Iterable[int], now_us: int = 0
    ) -> int:
        """Stop counting these orders (they ended at the broker); how many rows went."""
        now_us = now_us or time.time_ns() // 1000
        ids = sorted(set(broker_order_ids))
        removed = 0
        # Bounded IN lists: after a cancel-all there may be thousands.
        for start in range(0, len(ids), _FORGET_CHUNK):
            with self._tx() as conn:
                chunk = ids[start : start + _FORGET_CHUNK]
                removed += _uncount(conn, account_hash, chunk, now_us)
        return removed

    def prune_rate_buckets(self, before_s: int) -> int:
        """Drop the per-second write counts older than BEFORE_S; the rate reads only a minute."""
        with self._tx() as conn:
            result = conn.execute(delete(rate_buckets).where(rate_buckets.c.epoch_s < before_s))
            return int(result.rowcount)

    def _record(self, conn: Connection, key: str, lock: bool = False) -> IdemRecord | None:
        q = raw.statements(conn)
        row = raw.first(conn, q.record_locked if lock else q.record, {"b_key": key})
        return None if row is None else _idem_record(row)


class _Raced(Exception):
    """The pending row's key was inserted by another request first (the insert did nothing)."""


def _idem_record(row: Any) -> IdemRecord:
    return IdemRecord(
        key=row.idempotency_key,
        request_hash=row.request_hash,
        kind=m.Kind(row.kind),
        account_hash=row.account_hash,
        status=row.status,
        approval_ids=tuple(json.loads(row.approval_ids)),
        notional=Decimal(row.notional),
        new_orders=int(row.new_orders),
        day=row.day,
        created_at_us=int(row.created_at_us),
        updated_at_us=int(row.updated_at_us),
        outcome=json.loads(row.outcome) if row.outcome else None,
    )


def _record_values(pending: PendingWrite, now_us: int) -> dict[str, Any]:
    return {
        "idempotency_key": pending.key,
        "request_hash": pending.request_hash,
        "kind": pending.kind.value,
        "account_hash": pending.account_hash,
        "status": "PENDING",
        "approval_ids": json.dumps(list(pending.approval_ids)),
        "notional": str(pending.notional),
        "new_orders": pending.new_orders,
        "day": pending.day,
        "created_at_us": now_us,
        "updated_at_us": now_us,
        "principal": pending.principal,
        "con_id": pending.con_id,
        "buy_qty": str(pending.buy_qty),
        "sell_qty": str(pending.sell_qty),
        "fingerprint": pending.fingerprint,
        "modifies_order": pending.modifies_order,
    }


def _uncount(
    conn: Connection, account_hash: str, broker_order_ids: Sequence[int], now_us: int
) -> int:
    """Delete the account's open_orders rows of these orders (remembering when they ended, for
    the position checks); how many there were."""
    ids = list(broker_order_ids)
    ended = ended_orders.c
    conn.execute(
        delete(ended_orders).where(
            ended.account_hash == account_hash, ended.broker_order_id.in_(ids)
        )
    )
    conn.execute(
        insert(ended_orders).from_select(
            ["account_hash", "broker_order_id", "idempotency_key", "ended_at_us"],
            select(
                open_orders.c.account_hash,
                open_orders.c.broker_order_id,
                open_orders.c.idempotency_key,
                literal(now_us, BigInteger),
            ).where(
                open_orders.c.account_hash == account_hash, open_orders.c.broker_order_id.in_(ids)
            ),
        )
    )
    result = conn.execute(
        delete(open_orders).where(
            open_orders.c.account_hash == account_hash,
            open_orders.c.broker_order_id.in_(list(broker_order_ids)),
        )
    )
    return int(result.rowcount)


def _usage_params(account_hash: str, day: str, now_us: int, exclude: str) -> dict[str, Any]:
    """EXCLUDE: the key of a pending record this transaction already inserted (not counted)."""
    return {
        "b_account": account_hash,
        "b_exclude": exclude,
        "b_since_s": (now_us - MINUTE_US) // 1_000_000,
        "b_own": 1 if exclude else 0,
        "b_day": day,
    }


def _usage_from(row: Any) -> Usage:
    return Usage(int(row.recent), int(row.opened) + int(row.pending_new), Decimal(row.daily or "0"))


def _approval_taken(conn: Connection, approval_id: str) -> m.Denial:
    # A close that revoked it since step 8 read it: the caller must approve again, not wait.
    row = raw.first(conn, raw.statements(conn).approval_by_id, {"b_id": approval_id})
    if row is not None and row.revoked_at_us is not None and row.consumed_at_us is None:
        return m.Denial(
            reasons.APPROVAL_REVOKED,
            "FAILED_PRECONDITION",
            8,
            "approval revoked by a kill-switch close; preview and approve again",
            {"approval_id": approval_id, "revoked_at_us": str(row.revoked_at_us)},
        )
    return m.Denial(
        reasons.APPROVAL_CONSUMED,
        "FAILED_PRECONDITION",
        8,
        "the approval was used or reserved by another request",
        {"approval_id": approval_id},
    )
