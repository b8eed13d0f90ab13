"""One pooled read connection for all the reads of a gate decision, instead of one per read."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from policy_service.domain.audit_chain import ChainKeeper
from policy_service.storage import audit_store
from policy_service.storage.group_commit import GroupCommit


class PinnedReads:
    """Lets a caller pin one read connection to its thread for a block of reads.

    Each pool checkout costs Python time (and a round trip with pool_pre_ping on PostgreSQL);
    a decision reads five times. Inside ``reading()`` the reads share one connection, and each
    read still ends its own transaction, so every read sees the latest commits, as before.
    """

    read: Engine
    write: Engine
    chain: ChainKeeper
    _pinned: threading.local
    _group: GroupCommit | None

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        if getattr(self._pinned, "conn", None) is not None:
            yield  # nested: the outer block's connection serves
            return
        try:
            conn = self.read.connect()
        except SQLAlchemyError:
            yield  # each read connects on its own and fails (or not) exactly as it would have
            return
        self._pinned.conn = conn
        try:
            yield
        finally:
            self._pinned.conn = None
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

    @contextlib.contextmanager
    def _write_begin(self, urgent: bool = False) -> Iterator[Connection]:
        """A write transaction; the audit events it appended reach the chain keeper (and so the
        anchors) only once it has committed. URGENT: ahead of queued writes (a close)."""
        audit_store.take_appended()  # whatever a failed transaction left behind
        with self._write_tx(urgent) as conn:
            yield conn
        self.chain.committed(audit_store.take_appended())

    @contextlib.contextmanager
    def _write_tx(self, urgent: bool) -> Iterator[Connection]:
        """A write transaction: on the pinned connection when reads and writes share a pool.

        On PostgreSQL the read and write engines are one; a decision's pending and outcome
        transactions then run on the connection its reads pinned, instead of each checking
        out another. SQLite writes one at a time, through its group commit, where an URGENT
        transaction goes ahead of the queue.
        """
        if self._group is not None:
            with self._group.transaction(urgent) as conn:
                yield conn
            return
        pinned: Connection | None = getattr(self._pinned, "conn", None)
        if pinned is None:
            with self.write.begin() as conn:
                yield conn
            return
        if pinned.in_transaction():
            pinned.rollback()
        with pinned.begin():
            yield pinned

    def close(self) -> None:
        """Close SQLite's write connection (before the engines are disposed)."""
        if self._group is not None:
            self._group.close()

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Connection]:
        pinned: Connection | None = getattr(self._pinned, "conn", None)
        if pinned is None:
            with self.read.connect() as conn:
                yield conn
            return
        try:
            yield pinned
        finally:
            # End this read's transaction: the next read takes a fresh snapshot.
            with contextlib.suppress(SQLAlchemyError):
                pinned.rollback()
