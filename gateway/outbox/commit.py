"""Group commit: concurrent requests share one transaction, so the fsync that makes a 202
durable is paid once per group, not once per request.

An fsync costs milliseconds here; one per request would cap single-record intake at a few
hundred a second. Requests queue their rows; one committer thread takes what is queued,
commits it in one transaction, and wakes each request with its own result. Nothing is
answered before its rows have committed, so an ``accepted`` record is on disk.

A transaction takes every small request whole but at most :data:`CHUNK` rows of bulk
requests, and single records that arrive during a bulk chunk are committed on their own
next: a single record waits behind a bulk load for one chunk, not for a whole bulk. While
single records keep coming (one in the last :data:`SINGLES_RECENT` seconds), a bulk
transaction takes at most :data:`SHARED_CHUNK` rows, so that wait stays a few milliseconds:
the singles' lane.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from gateway.outbox.database import Database
from gateway.outbox.rows import Accepted, Outcome, Receipt, Row


class Inserter(Protocol):
    """What the committer commits with: inserts rows inside its transaction."""

    def insert(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> Accepted:
        """Insert ``rows`` on ``conn`` (inside an open transaction)."""
        ...

    def rolled_back(self) -> None:
        """The transaction failed: forget whatever :meth:`insert` assumed it would commit."""
        ...


#: Most rows of bulk requests one transaction takes: a single record arriving meanwhile
#: waits for at most this many rows to be written before its own commit (a 10,000-record
#: request in one transaction would hold it for tens of milliseconds).
CHUNK = 1000


class _Ticket:
    """Rows waiting to be committed; ``finish`` is called (in the committer thread) with the
    ticket once all its rows are committed (``new``, ``others``) or ``error`` is set.

    A large ticket is committed in chunks, ``done`` rows at a time: a crash in between
    leaves its first chunks committed, which a client's retry meets as duplicates.
    """

    __slots__ = ("also", "done", "error", "finish", "new", "others", "rows", "stamps")

    def __init__(
        self,
        rows: Sequence[Row],
        finish: Callable[[_Ticket], None],
        also: Callable[[sqlite3.Connection], None] | None = None,
        stamps: list[float] | None = None,
    ) -> None:
        self.rows = rows
        self.finish = finish
        self.also = also
        self.stamps = stamps
        self.done = 0
        self.new = 0
        self.others: list[tuple[int, Outcome, Receipt]] = []
        self.error: Exception | None = None

    @property
    def result(self) -> Accepted:
        return Accepted(self.new, self.others)


_CLOSE = _Ticket((), lambda _: None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class GroupCommit:
    """The committer thread of one outbox."""

    def __init__(self, database: Database, inserter: Inserter) -> None:
        self._database = database
        self._inserter = inserter
        self._queue: list[_Ticket] = []
        self._queue_ready = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="committer", daemon=True)
        self._thread.start()

    def accept(self, rows: Sequence[Row]) -> Accepted:
        """Commit ``rows`` with whatever else is queued; return once they are on disk."""
        if not rows:
            return Accepted(0)
        done = threading.Event()
        ticket = self._enqueue(rows, lambda _: done.set())
        done.wait()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    async def accept_async(
        self,
        rows: Sequence[Row],
        also: Callable[[sqlite3.Connection], None] | None = None,
        stamps: list[float] | None = None,
    ) -> Accepted:
        """:meth:`accept` for the event loop: waits for the group commit without a thread.
        ``also`` writes more in the same transaction, after the rows (all of them or
        nothing is committed). ``stamps`` gets the ``perf_counter`` times the rows were
        queued, taken into their (last) transaction, got the write lock and were committed
        (:data:`gateway.profiling.SINGLE_STAMPS`)."""
        if not rows:
            return Accepted(0)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def finish(_: _Ticket) -> None:
            loop.call_soon_threadsafe(_resolve, future)

        if stamps is not None:
            stamps.append(time.perf_counter())
        ticket = self._enqueue(rows, finish, also, stamps)
        await asyncio.shield(future)  # a client that hangs up does not undo the commit
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        with self._queue_ready:
            self._queue.append(_CLOSE)
            self._queue_ready.notify()
        self._thread.join()

    def _enqueue(
        self,
        rows: Sequence[Row],
        finish: Callable[[_Ticket], None],
        also: Callable[[sqlite3.Connection], None] | None = None,
        stamps: list[float] | None = None,
    ) -> _Ticket:
        ticket = _Ticket(rows, finish, also, stamps)
        with self._queue_ready:
            self._queue.append(ticket)
            self._queue_ready.notify()
        return ticket

    def _loop(self) -> None:
        pending: list[_Ticket] = []
        closing = False
        bulk_turn = False
        singles_at = float("-inf")  # when the last small ticket was seen
        while True:
            with self._queue_ready:
                while not self._queue and not pending:
                    if closing:
                        return
                    self._queue_ready.wait()
                taken, self._queue = self._queue, []
            closing = closing or any(t is _CLOSE for t in taken)
            pending.extend(t for t in taken if t is not _CLOSE)
            if not pending:
                continue
            # Single records that arrived during a bulk chunk get a transaction of their own
            # next (one fsync, no bulk rows), and the bulk the one after.
            now = time.monotonic()
            singles = any(_small(t) for t in pending)
            if singles:
                singles_at = now
            singles_first = not bulk_turn and singles
            budget = CHUNK if now - singles_at > SINGLES_RECENT else SHARED_CHUNK
            chunks = _chunks(pending, budget=0 if singles_first else budget)
            bulk_turn = singles_first
            self._commit(chunks)
            pending = [t for t in pending if t.error is None and t.done < len(t.rows)]

    def _commit(self, chunks: list[tuple[_Ticket, int, int]]) -> None:
        taken = time.perf_counter()
        try:
            with self._database.transaction() as conn:
                began = time.perf_counter()
                results = [
                    (ticket, start, end, self._inserter.insert(conn, ticket.rows[start:end]))
                    for ticket, start, end in chunks
                ]
                for ticket, _, end in chunks:
                    if ticket.also is not None and end == len(ticket.rows):
                        ticket.also(conn)
        except Exception as exc:
            self._inserter.rolled_back()
            for ticket, _, _ in chunks:
                ticket.error = exc
                ticket.finish(ticket)
            return
        committed = time.perf_counter()
        for ticket, start, end, accepted in results:
            ticket.new += accepted.new
            ticket.others.extend(
                (start + k, outcome, earlier) for k, outcome, earlier in accepted.others
            )
            ticket.done = end
            if end == len(ticket.rows):
                if ticket.stamps is not None:
                    ticket.stamps += (taken, began, committed)
                ticket.finish(ticket)


def _small(ticket: _Ticket) -> bool:
    return len(ticket.rows) - ticket.done <= _SMALL


def _chunks(pending: list[_Ticket], *, budget: int) -> list[tuple[_Ticket, int, int]]:
    """What the next transaction commits: ``(ticket, start, end)``. Every small ticket whole,
    and bulk rows in arrival order up to ``budget``."""
    chunks = []
    for ticket in pending:
        remaining = len(ticket.rows) - ticket.done
        if _small(ticket):
            chunks.append((ticket, ticket.done, len(ticket.rows)))
        elif budget > 0:
            take = min(remaining, budget)
            budget -= take
            chunks.append((ticket, ticket.done, ticket.done + take))
    return chunks


#: A ticket this small is committed whole in the next transaction, whatever else waits.
_SMALL = 16
#: Most bulk rows a transaction takes while single records keep arriving: a single record
#: then waits behind at most this many (about 2 ms of inserting here), not :data:`CHUNK`.
SHARED_CHUNK = 200
#: Seconds after the last single record during which bulk transactions stay shared-sized.
SINGLES_RECENT = 1.0
