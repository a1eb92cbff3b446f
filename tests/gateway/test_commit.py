"""Group commit's lane for single records: while they keep coming, a bulk transaction takes
at most SHARED_CHUNK rows and a single record waiting goes first, in a transaction of its
own; with none lately, bulk rows go CHUNK at a time."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.outbox import commit
from gateway.outbox.commit import CHUNK, SHARED_CHUNK, GroupCommit
from gateway.outbox.database import Database
from gateway.outbox.rows import Accepted, Row


class _Counted(Database):
    """A real outbox file whose transactions are recorded: the rows of each ticket's slice."""

    def __init__(self, path: Path) -> None:
        self.entered = threading.Event()  # a transaction is about to begin
        self.gate = threading.Event()  # it may begin
        self.gate.set()
        super().__init__(path)  # (its own transactions, creating the tables, not counted)
        self.transactions: list[list[int]] = []

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.entered.set()
        assert self.gate.wait(30)
        if hasattr(self, "transactions"):
            self.transactions.append([])
        with super().transaction() as conn:
            yield conn


class _Inserter:
    def __init__(self, database: _Counted) -> None:
        self.database = database

    def insert(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> Accepted:
        self.database.transactions[-1].append(len(rows))
        return Accepted(len(rows))

    def rolled_back(self) -> None:
        raise AssertionError("no transaction fails here")


def _rows(prefix: str, count: int) -> list[Row]:
    return [(f"{prefix}-{i}", "invoice.issued/v1", b"{}", b"\0" * 128, 1.0) for i in range(count)]


@pytest.fixture
def committer(tmp_path: Path) -> Iterator[tuple[GroupCommit, _Counted]]:
    database = _Counted(tmp_path / "outbox.db")
    group = GroupCommit(database, _Inserter(database))
    yield group, database
    group.close()
    database.close()


def test_bulk_rows_go_in_whole_chunks_with_no_singles_lately(
    committer: tuple[GroupCommit, _Counted],
) -> None:
    group, database = committer
    assert group.accept(_rows("bulk", 2 * CHUNK + 300)).new == 2 * CHUNK + 300
    assert database.transactions == [[CHUNK], [CHUNK], [300]]


def test_while_singles_come_bulk_transactions_are_shared_sized(
    committer: tuple[GroupCommit, _Counted],
) -> None:
    group, database = committer
    group.accept(_rows("single", 1))
    assert group.accept(_rows("bulk", 3 * SHARED_CHUNK + 50)).new == 3 * SHARED_CHUNK + 50
    assert database.transactions == [[1], [SHARED_CHUNK], [SHARED_CHUNK], [SHARED_CHUNK], [50]]


def test_a_single_waits_for_one_bulk_transaction_at_most(
    committer: tuple[GroupCommit, _Counted],
) -> None:
    group, database = committer
    group.accept(_rows("single", 1))
    database.entered.clear()
    database.gate.clear()  # the bulk's first transaction is held at its start
    bulk = threading.Thread(target=group.accept, args=(_rows("bulk", 4 * SHARED_CHUNK),))
    bulk.start()
    assert database.entered.wait(30)
    single = threading.Thread(target=group.accept, args=(_rows("late", 1),))
    single.start()
    while not group._queue:  # the single is queued behind the held transaction
        time.sleep(0.001)
    database.gate.set()
    bulk.join(30)
    single.join(30)
    # The single went alone right after the one bulk transaction under way, then the rest.
    assert database.transactions == [[1], [SHARED_CHUNK], [1]] + [[SHARED_CHUNK]] * 3


def test_shared_sizing_ends_when_singles_stop(
    committer: tuple[GroupCommit, _Counted], monkeypatch: pytest.MonkeyPatch
) -> None:
    group, database = committer
    monkeypatch.setattr(commit, "SINGLES_RECENT", 0.0)
    group.accept(_rows("single", 1))
    group.accept(_rows("bulk", CHUNK))
    assert database.transactions == [[1], [CHUNK]]


def test_a_stamped_ticket_gets_its_queue_lock_and_commit_times(
    committer: tuple[GroupCommit, _Counted],
) -> None:
    group, database = committer
    stamps = [time.perf_counter()]
    database.entered.clear()
    database.gate.clear()  # the transaction is held before it takes the write lock

    async def accept() -> Accepted:
        return await group.accept_async(_rows("stamped", 1), stamps=stamps)

    def release() -> None:
        assert database.entered.wait(30)
        time.sleep(0.05)
        database.gate.set()

    releaser = threading.Thread(target=release)
    releaser.start()
    assert asyncio.run(accept()).new == 1
    releaser.join()
    # Queued, taken into the transaction, the lock held (after the 50 ms hold), committed.
    assert len(stamps) == 5 and stamps == sorted(stamps)
    _, taken, began, _ = stamps[1:]
    assert began - taken >= 0.05
