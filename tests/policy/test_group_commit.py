"""SQLite group commit: queued writers share one COMMIT, and nobody returns before it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, text

from policy_service.storage.engine import make_engines
from policy_service.storage.group_commit import BatchFailed, GroupCommit
from tests.support.net import wait_until


@pytest.fixture()
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    write, read = make_engines(f"sqlite:///{tmp_path / 'g.db'}")
    with write.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(
            text(
                "CREATE TABLE item (id INTEGER PRIMARY KEY, parent INTEGER "
                "REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    yield write, read
    write.dispose()
    read.dispose()


def commits_of(engine: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda _conn: seen.append(1))
    return seen


def stored(read: Engine) -> set[int]:
    with read.connect() as conn:
        return {row.id for row in conn.execute(text("SELECT id FROM item"))}


def insert(conn: Connection, item: int, parent: int | None = None) -> None:
    conn.execute(text("INSERT INTO item (id, parent) VALUES (:i, :p)"), {"i": item, "p": parent})


class Writers:
    """Runs writers on threads; what each ended with, and what a reader saw when it returned."""

    def __init__(self, group: GroupCommit, read: Engine):
        self.group = group
        self.read = read
        self.results: dict[str, object] = {}
        self.seen_at_return: dict[str, set[int]] = {}
        self._threads: list[threading.Thread] = []

    def start(self, name: str, work: Callable[[Connection], None], urgent: bool = False) -> None:
        def run() -> None:
            try:
                with self.group.transaction(urgent) as conn:
                    work(conn)
                self.results[name] = "ok"
            except Exception as exc:
                self.results[name] = exc
            self.seen_at_return[name] = stored(self.read)

        thread = threading.Thread(target=run, name=name)
        self._threads.append(thread)
        thread.start()

    def queue_behind(
        self, name: str, work: Callable[[Connection], None], queued: int, urgent: bool = False
    ) -> None:
        """Start a writer and wait until it waits for the lock (QUEUED writers waiting)."""
        self.start(name, work, urgent)
        assert wait_until(lambda: self.group.queued() >= queued, interval_s=0.001)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=20)
            assert not thread.is_alive()


class Holder:
    """A writer's work that keeps the lock until released, so others queue behind it."""

    def __init__(self, work: Callable[[Connection], None]):
        self.work = work
        self.inside = threading.Event()
        self.release = threading.Event()

    def __call__(self, conn: Connection) -> None:
        self.work(conn)
        self.inside.set()
        assert self.release.wait(10)

    def start(self, writers: Writers, name: str) -> None:
        writers.start(name, self)
        assert self.inside.wait(10)


def queue_of_three(
    group: GroupCommit,
    read: Engine,
    second: Callable[[Connection], None],
    third: Callable[[Connection], None],
) -> Writers:
    """ "a" inserts 1 and holds the lock until "b" then "c" queue behind it; all finished."""
    writers = Writers(group, read)
    holder = Holder(lambda c: insert(c, 1))
    holder.start(writers, "a")
    writers.queue_behind("b", second, queued=1)
    writers.queue_behind("c", third, queued=2)
    holder.release.set()
    writers.join()
    return writers


def test_queued_writers_share_one_commit_and_none_returns_before_it(engines) -> None:
    write, read = engines
    commits = commits_of(write)
    group = GroupCommit(write.connect)
    writers = queue_of_three(group, read, lambda c: insert(c, 2), lambda c: insert(c, 3))
    group.close()

    assert writers.results == {"a": "ok", "b": "ok", "c": "ok"}
    assert len(commits) == 1
    assert stored(read) == {1, 2, 3}
    # Durable before anyone was answered: each saw all three rows from another connection.
    assert all(seen == {1, 2, 3} for seen in writers.seen_at_return.values())


def test_a_failed_writer_loses_only_its_own_work(engines) -> None:
    write, read = engines
    commits = commits_of(write)
    group = GroupCommit(write.connect)

    def fails(conn: Connection) -> None:
        insert(conn, 2)
        raise ValueError("refused after writing")

    writers = queue_of_three(group, read, fails, lambda c: insert(c, 3))
    group.close()

    assert writers.results["a"] == "ok" and writers.results["c"] == "ok"
    assert isinstance(writers.results["b"], ValueError)
    assert stored(read) == {1, 3}
    assert len(commits) == 1


def test_a_failed_commit_fails_every_writer_of_the_batch_and_stores_nothing(engines) -> None:
    write, read = engines
    group = GroupCommit(write.connect)
    saw_mate: list[bool] = []

    def reads_then_refuses(conn: Connection) -> None:
        # What it saw is its batch-mate's uncommitted row: its answer depends on that commit.
        saw_mate.append(conn.execute(text("SELECT count(*) FROM item")).scalar() == 1)
        raise ValueError("refused on what it read")

    # "c" inserts a child whose parent does not exist: the deferred foreign key fails the
    # COMMIT itself.
    writers = queue_of_three(group, read, reads_then_refuses, lambda c: insert(c, 3, parent=99))

    assert saw_mate == [True]
    assert all(isinstance(r, BatchFailed) for r in writers.results.values()), writers.results
    assert stored(read) == set()
    # The next writer starts a fresh transaction (and connection), and commits on its own.
    with group.transaction() as conn:
        insert(conn, 4)
    group.close()
    assert stored(read) == {4}


def test_a_lone_writer_commits_at_once(engines) -> None:
    write, read = engines
    commits = commits_of(write)
    group = GroupCommit(write.connect)
    for item in (1, 2, 3):
        with group.transaction() as conn:
            insert(conn, item)
        assert stored(read) == set(range(1, item + 1))
    group.close()
    assert len(commits) == 3


def test_a_full_batch_commits_without_waiting_for_the_queue(engines) -> None:
    write, read = engines
    commits = commits_of(write)
    group = GroupCommit(write.connect, max_batch=2)
    writers = queue_of_three(group, read, lambda c: insert(c, 2), lambda c: insert(c, 3))
    group.close()

    assert set(writers.results.values()) == {"ok"}
    assert stored(read) == {1, 2, 3}
    assert len(commits) == 2  # a+b, then c


def test_closing_with_writers_handed_on_fails_them_instead_of_hanging(engines) -> None:
    write, read = engines
    group = GroupCommit(write.connect)
    writers = Writers(group, read)
    holder = Holder(lambda c: insert(c, 1))
    holder.start(writers, "a")
    closed = threading.Thread(target=group.close)
    closed.start()  # waits for the lock: not a writer, so "a" does not count it as queued
    writers.queue_behind("b", lambda c: insert(c, 2), queued=1)
    holder.release.set()
    writers.join()
    closed.join(timeout=20)
    assert not closed.is_alive()
    # Whoever took the lock after "a" (close or "b"), nobody hangs and nobody is told "ok"
    # for work that was not stored.
    assert all(r == "ok" or isinstance(r, BatchFailed) for r in writers.results.values())
    rows = {"a": 1, "b": 2}
    assert stored(read) == {rows[k] for k, r in writers.results.items() if r == "ok"}


def test_transaction_when_urgent_behind_queued_writers_then_it_goes_first_and_commits_at_once(
    engines,
) -> None:
    write, read = engines
    commits = commits_of(write)
    group = GroupCommit(write.connect)
    writers = Writers(group, read)
    order: list[str] = []  # each work runs under the group's lock: this is the lock's order

    def work(name: str, item: int) -> Callable[[Connection], None]:
        return lambda c: (order.append(name), insert(c, item))[-1]

    holder = Holder(work("a", 1))
    holder.start(writers, "a")
    writers.queue_behind("b", work("b", 2), queued=1)
    writers.queue_behind("c", work("c", 3), queued=2)
    writers.queue_behind("close", work("close", 9), queued=3, urgent=True)
    holder.release.set()
    writers.join()
    group.close()

    assert set(writers.results.values()) == {"ok"}
    assert order[:2] == ["a", "close"]  # the close took the lock before b and c
    assert stored(read) == {1, 2, 3, 9}
    # It committed a's batch with its own work instead of handing the lock on: two commits
    # (a + close, then b + c), where a queue of four plain writers shares one.
    assert len(commits) == 2
