"""One pooled read connection for all the reads of a gate decision, instead of one per read."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError


class PinnedReads:
    """Lets a caller pin one read connection to its thread for a block of reads.

    Each pool checkout costs Python time (and a round trip with pool_pre_ping on PostgreSQL);
    a decision reads five times. Inside ``reading()`` the reads share one connection, and each
    read still ends its own transaction, so every read sees the latest commits, as before.
    """

    read: Engine
    write: Engine
    _pinned: threading.local
    _held: Connection | None

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
    def _write_begin(self) -> Iterator[Connection]:
        """A write transaction: on the pinned connection when reads and writes share a pool.

        On PostgreSQL the read and write engines are one; a decision's pending and outcome
        transactions then run on the connection its reads pinned, instead of each checking
        out another. SQLite writes through its one held connection (_held_begin).
        """
        if self.read is not self.write:
            with self._held_begin() as conn:
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

    @contextlib.contextmanager
    def _held_begin(self) -> Iterator[Connection]:
        """SQLite: its one writer at a time (the store's lock) keeps one connection open.

        A pool checkout, a Connection and a checkin per transaction cost more Python than
        SQLite takes to commit. Only ever entered under the store's write lock. A connection
        that saw a database error is closed and the next transaction opens a fresh one.
        """
        conn = self._held
        if conn is None or conn.closed or conn.invalidated:
            conn = self._held = self.write.connect()
        try:
            with conn.begin():
                yield conn
        except SQLAlchemyError:
            self.close()
            raise

    def close(self) -> None:
        """Close the held write connection (before the engines are disposed)."""
        conn, self._held = self._held, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

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
