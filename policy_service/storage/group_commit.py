"""SQLite group commit: writers that queue for the database share one COMMIT and one fsync."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from sqlalchemy import Connection, RootTransaction
from sqlalchemy.exc import SQLAlchemyError

from livegate_common.metrics import COMMIT_BATCH
from policy_service.storage import raw

# Enough to amortise the fsync over every request thread the gRPC server runs at once, few
# enough that the first writer of a batch does not wait long for the last one.
MAX_BATCH = 32


class BatchFailed(SQLAlchemyError):
    """The shared transaction this writer's work was part of did not commit."""


class _Batch:
    """One open transaction and the writers whose work is in it."""

    def __init__(self, transaction: RootTransaction):
        self.transaction = transaction
        self.members = 0
        self.error: BaseException | None = None
        self._done = threading.Event()

    def finish(self, error: BaseException | None) -> None:
        self.error = error
        self._done.set()

    def wait(self) -> None:
        self._done.wait()
        if self.error is not None:
            raise BatchFailed(f"the shared commit failed: {self.error!r}") from self.error


class GroupCommit:
    """One writer at a time, as SQLite requires, but one durable COMMIT per queue of writers.

    Each writer runs its work inside a SAVEPOINT of the open transaction, under the lock. When
    it is done and no other writer is queued for the lock (or the batch is full), it commits
    the transaction for everybody in it; otherwise it hands the lock on and the last writer
    of the queue commits. While a COMMIT waits on its fsync, newcomers queue and form the next
    batch, so under load the fsync, BEGIN and COMMIT are paid once per batch, not per writer.

    An urgent writer (the kill-switch close) goes first: it takes the lock ahead of every
    writer queued, and commits the batch it joined at once instead of handing the lock on, so
    it waits for the work already in the batch and one fsync, never for the queue. Under a
    burst the queue never empties, and a close queued like a write waited for up to MAX_BATCH
    writers' work before its COMMIT.

    Nobody returns before the COMMIT that made their work durable. A writer whose work failed
    has only its savepoint rolled back: the others' work stays. It too waits for the COMMIT,
    because what it saw (say, a batch-mate's new row) is only true if that COMMIT succeeds.
    When the COMMIT (or the transaction itself) fails, every writer in the batch gets
    BatchFailed, whatever its own work ended with: nothing of the batch is stored.
    """

    def __init__(self, connect: Callable[[], Connection], max_batch: int = MAX_BATCH):
        self._connect = connect
        self._max = max_batch
        # The one writer: _held under _state, and two queues on it, urgent writers first.
        self._state = threading.Lock()
        self._urgent_turn = threading.Condition(self._state)
        self._turn = threading.Condition(self._state)
        self._held = False
        self._queued = 0  # writers waiting for the lock, urgent ones included
        self._urgent = 0  # urgent writers waiting for it
        self._conn: Connection | None = None
        self._batch: _Batch | None = None

    @contextlib.contextmanager
    def transaction(self, urgent: bool = False) -> Iterator[Connection]:
        """URGENT: ahead of the queue, and committed at once (see the class)."""
        self._acquire(urgent, writer=True)
        batch: _Batch | None = None
        work_error: BaseException | None = None
        try:
            batch, conn = self._join()
            try:
                raw.execute_plain(conn, "SAVEPOINT member")
            except Exception as exc:
                self._fail(batch, exc)
                raise
            try:
                yield conn
            except BaseException as exc:
                work_error = exc
                self._end_member(batch, conn, "ROLLBACK TO member")
            else:
                self._end_member(batch, conn, None)
            batch.members += 1
            full = batch.members >= self._max
            if batch.error is None and (urgent or full or not self.queued()):
                self._commit(batch)
        finally:
            self._release()
        batch.wait()
        if work_error is not None:
            raise work_error

    def queued(self) -> int:
        """Writers waiting for their turn right now."""
        with self._state:
            return self._queued

    def close(self) -> None:
        """Close the connection (before the engine is disposed). Only between batches."""
        self._acquire(urgent=False, writer=False)
        try:
            if self._batch is not None:  # writers handed the lock on, and close() took it
                self._fail(self._batch, RuntimeError("the store was closed"))
            self._drop_connection()
        finally:
            self._release()

    def _acquire(self, urgent: bool, writer: bool) -> None:
        """Take the one-writer lock; an urgent writer before anybody else waiting. WRITER:
        counted as queued meanwhile (close() is not: it must not hold a batch open)."""
        with self._state:
            if not self._held and not self._urgent:
                self._held = True
                return
            self._queued += writer
            if urgent:
                self._urgent += 1
                while self._held:
                    self._urgent_turn.wait()
                self._urgent -= 1
            else:
                while self._held or self._urgent:
                    self._turn.wait()
            self._queued -= writer
            self._held = True

    def _release(self) -> None:
        with self._state:
            self._held = False
            # One waiter per release (not all: each woken thread costs the GIL a hand-off).
            if self._urgent:
                self._urgent_turn.notify()
            else:
                self._turn.notify()

    # ---- under the lock --------------------------------------------------------------------

    def _join(self) -> tuple[_Batch, Connection]:
        """The open batch and its connection; a new transaction when none is open."""
        batch = self._batch
        conn = self._conn
        if batch is not None and conn is not None:
            return batch, conn
        if conn is None or conn.closed or conn.invalidated:
            try:
                conn = self._conn = self._connect()
            except SQLAlchemyError:
                self._conn = None
                raise
        try:
            batch = self._batch = _Batch(conn.begin())
        except SQLAlchemyError:
            self._drop_connection()
            raise
        return batch, conn

    def _end_member(self, batch: _Batch, conn: Connection, undo: str | None) -> None:
        try:
            if undo is not None:
                raw.execute_plain(conn, undo)
            raw.execute_plain(conn, "RELEASE member")
        except Exception as exc:
            # SQLite rolls the whole transaction back on some errors (disk full, I/O): then
            # there is no savepoint left to go back to, and no batch to commit.
            self._fail(batch, exc)

    def _commit(self, batch: _Batch) -> None:
        self._batch = None
        try:
            batch.transaction.commit()
        except Exception as exc:  # whatever it was, the batch is not durable: nobody may hang
            self._fail(batch, exc)
            return
        batch.finish(None)
        COMMIT_BATCH.observe(batch.members)

    def _fail(self, batch: _Batch, error: BaseException) -> None:
        """Roll the batch back, tell its writers, start the next one on a fresh connection."""
        if self._batch is batch:
            self._batch = None
        with contextlib.suppress(Exception):
            batch.transaction.rollback()
        self._drop_connection()
        batch.finish(error)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()
