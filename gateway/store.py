"""The durable outbox: records, the batches that anchor them, and revocations, in SQLite.

WAL mode with ``synchronous=FULL`` by default: a commit returns only after the WAL is on disk,
so a 202 survives a power cut, not just a crash of the process. Concurrent requests share one
commit, so the fsync is paid once per group, not per record. ``NORMAL`` (a setting) skips that
fsync: a 202 then survives SIGKILL of the gateway but not a crash of the machine.

A record's status is not stored on the record: it follows from its batch (none or pending:
``accepted``; ``anchored``; ``final``) and its revocation. Anchoring 10,000 records is then one
row update, and a record can never disagree with its batch.

One connection writes, under a lock; each reading thread has its own connection, which WAL
lets read while the writer writes.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ledger_node.errors import ConfigurationError

#: An outbox row: ``(id, schema, record, record_hash, salt, commitment, leaf, subjects,
#: accepted_at)``, the column order of :data:`_INSERT` (built by :mod:`gateway.ingest`).
Row = tuple[str, str, bytes, bytes, bytes, bytes, bytes, bytes, float]

log = logging.getLogger(__name__)

#: Seconds between WAL checkpoints (a bulk load writes ~10 MB of WAL a second).
CHECKPOINT_INTERVAL = 0.5
#: Bytes the WAL file is cut back to once checkpointed (it is reused from its start).
_WAL_SIZE_LIMIT = 64 * 1024 * 1024

_INSERT = (
    "INSERT INTO records (id, schema, record, record_hash, salt, commitment, leaf, subjects,"
    " accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    schema TEXT NOT NULL,
    record BLOB NOT NULL,
    record_hash BLOB NOT NULL,
    salt BLOB NOT NULL,
    commitment BLOB NOT NULL,
    leaf BLOB NOT NULL,
    subjects BLOB NOT NULL,
    accepted_at REAL NOT NULL,
    batch_root BLOB,
    leaf_index INTEGER,
    proof BLOB
);
CREATE INDEX IF NOT EXISTS records_unbatched ON records (schema, seq) WHERE batch_root IS NULL;
CREATE TABLE IF NOT EXISTS batches (
    root BLOB PRIMARY KEY,
    schema TEXT NOT NULL,
    count INTEGER NOT NULL,
    status TEXT NOT NULL,
    signature BLOB NOT NULL,
    deadline INTEGER NOT NULL,
    raw_tx BLOB NOT NULL,
    tx_hash BLOB NOT NULL,
    nonce INTEGER NOT NULL,
    gas INTEGER NOT NULL,
    created_at REAL NOT NULL,
    block_number INTEGER,
    last_error TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batches_open ON batches (status) WHERE status != 'final';
CREATE TABLE IF NOT EXISTS revocations (
    record_id TEXT PRIMARY KEY REFERENCES records (id),
    reason TEXT NOT NULL,
    reason_hash BLOB NOT NULL,
    status TEXT NOT NULL,
    requested_at REAL NOT NULL,
    signature BLOB,
    deadline INTEGER,
    raw_tx BLOB,
    tx_hash BLOB,
    nonce INTEGER,
    gas INTEGER,
    block_number INTEGER,
    last_error TEXT
) WITHOUT ROWID;
"""


class BatchStatus(enum.StrEnum):
    """Where a batch is: signed and (being) sent, mined, or mined deep enough to stay."""

    PENDING = "pending"
    ANCHORED = "anchored"
    FINAL = "final"


class RevocationStatus(enum.StrEnum):
    """Where a revocation is: asked for, signed and (being) sent, or mined."""

    REQUESTED = "requested"
    PENDING = "pending"
    REVOKED = "revoked"


class Outcome(enum.Enum):
    """What accepting a record did."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a client gets back for an accepted record."""

    id: str
    schema: str
    record_hash: bytes
    commitment: bytes
    leaf: bytes
    accepted_at: float
    status: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """What committing rows did: every row is new except those in ``others``.

    ``others`` lists ``(k, outcome, earlier)`` for ``rows[k]`` whose id was taken: a
    :attr:`Outcome.DUPLICATE` (same schema and record hash) or an :attr:`Outcome.CONFLICT`,
    with the receipt of the record that holds the id. A clean bulk load builds nothing per row.
    """

    new: int
    others: list[tuple[int, Outcome, Receipt]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SignedWrite:
    """A signed ledger write ready to (re)send: the agency's signature and the raw transaction."""

    signature: bytes
    deadline: int
    raw_tx: bytes
    tx_hash: bytes
    nonce: int
    gas: int


@dataclass(frozen=True, slots=True)
class BatchRow:
    """A batch as stored."""

    root: bytes
    schema: str
    count: int
    status: BatchStatus
    write: SignedWrite
    created_at: float
    block_number: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class RevocationRow:
    """A revocation as stored (``write`` is None until it is signed)."""

    record_id: str
    reason: str
    reason_hash: bytes
    status: RevocationStatus
    requested_at: float
    write: SignedWrite | None
    block_number: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record with its batch and revocation, everything ``GET`` and proofs need."""

    id: str
    schema: str
    record: bytes
    record_hash: bytes
    salt: bytes
    commitment: bytes
    leaf: bytes
    subjects: tuple[bytes, ...]
    accepted_at: float
    leaf_index: int | None
    proof: tuple[bytes, ...]
    batch: BatchRow | None
    revocation: RevocationRow | None

    @property
    def status(self) -> str:
        """``accepted`` → ``anchored`` → ``final``, or ``revoked``."""
        if self.revocation is not None and self.revocation.status is RevocationStatus.REVOKED:
            return "revoked"
        return _record_status(self.batch.status if self.batch else None)


@dataclass(frozen=True, slots=True)
class Assignment:
    """A record's place in a batch: its leaf index and Merkle proof."""

    seq: int
    leaf_index: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Backlog:
    """Unbatched records of one schema."""

    schema: str
    count: int
    oldest_accepted_at: float


class _Ticket:
    """Rows waiting for the next group commit; ``finish`` is called (in the committer thread)
    with the ticket once ``result`` or ``error`` is set."""

    __slots__ = ("error", "finish", "result", "rows")

    def __init__(self, rows: Sequence[Row], finish: Callable[[_Ticket], None]) -> None:
        self.rows = rows
        self.finish = finish
        self.result = Accepted(0)
        self.error: Exception | None = None


_CLOSE = _Ticket((), lambda _: None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _record_status(batch_status: str | None) -> str:
    if batch_status in (BatchStatus.ANCHORED, BatchStatus.FINAL):
        return str(batch_status)
    return "accepted"


def _split(blob: bytes | None) -> tuple[bytes, ...]:
    if not blob:
        return ()
    return tuple(blob[i : i + 32] for i in range(0, len(blob), 32))


def _write(row: sqlite3.Row) -> SignedWrite | None:
    if row["raw_tx"] is None:
        return None
    return SignedWrite(
        row["signature"], row["deadline"], row["raw_tx"], row["tx_hash"], row["nonce"], row["gas"]
    )


def _write_values(w: SignedWrite) -> tuple[bytes, int, bytes, bytes, int, int]:
    return (w.signature, w.deadline, w.raw_tx, w.tx_hash, w.nonce, w.gas)


def _batch(row: sqlite3.Row) -> BatchRow:
    write = _write(row)
    assert write is not None
    return BatchRow(
        row["root"],
        row["schema"],
        row["count"],
        BatchStatus(row["status"]),
        write,
        row["created_at"],
        row["block_number"],
        row["last_error"],
    )


def _revocation(row: sqlite3.Row) -> RevocationRow:
    return RevocationRow(
        row["record_id"],
        row["reason"],
        row["reason_hash"],
        RevocationStatus(row["status"]),
        row["requested_at"],
        _write(row),
        row["block_number"],
        row["last_error"],
    )


class Store:
    """The outbox database of one gateway."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = path
        self._synchronous = synchronous
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._writer = self._connect()
        self._writer.executescript(_SCHEMA)
        # Commits never checkpoint (copying the WAL into the database file and syncing it
        # inside a COMMIT would stall every request waiting for that group commit): the
        # checkpointer thread does, on its own connection, beside the writer.
        self._writer.execute("PRAGMA wal_autocheckpoint=0")
        self._queue: list[_Ticket] = []
        self._queue_ready = threading.Condition()
        self._closing = threading.Event()
        self._committer = threading.Thread(target=self._commit_loop, name="committer", daemon=True)
        self._committer.start()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="checkpointer", daemon=True
        )
        self._checkpointer.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Stop the committer and checkpointer and close the writer; readers close with
        their threads."""
        with self._queue_ready:
            self._queue.append(_CLOSE)
            self._queue_ready.notify()
        self._committer.join()
        self._closing.set()
        self._checkpointer.join()
        with self._write_lock:
            self._writer.close()

    def _checkpoint_loop(self) -> None:
        """Copy committed WAL frames into the database file, beside the writer (a PASSIVE
        checkpoint takes no lock a commit needs), so the WAL stays short."""
        conn = self._connect()
        try:
            while not self._closing.wait(CHECKPOINT_INTERVAL):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # busy or a full disk: the next round tries again
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            conn.close()

    # -- binding to one ledger -------------------------------------------------------------

    def bind(self, chain_id: int, ledger: str, agency: str) -> None:
        """Tie the database to one ledger and agency key; refuse a database made for another.

        Its batches are signed for that ledger: sending them elsewhere would fail forever.
        """
        wanted = {"chain_id": str(chain_id), "ledger": ledger.lower(), "agency": agency.lower()}
        with self._transaction() as conn:
            found = {row["key"]: row["value"] for row in conn.execute("SELECT * FROM meta")}
            if not found:
                conn.executemany("INSERT INTO meta VALUES (?, ?)", wanted.items())
                return
        if found != wanted:
            raise ConfigurationError(
                f"database {self.path} belongs to agency key {found.get('agency')} on ledger "
                f"{found.get('ledger')} (chain {found.get('chain_id')}), not to {agency} on "
                f"{ledger} (chain {chain_id}); give this gateway its own database path"
            )

    # -- accepting records -----------------------------------------------------------------

    def accept(self, rows: Sequence[Row]) -> Accepted:
        """Commit the new rows; report the others as duplicates of an earlier record with
        the same id and record, or conflicts with it.

        Nothing returns before the commit, so an ``accepted`` record is on disk. Concurrent
        calls share one transaction (group commit): an fsync costs milliseconds here, and
        one per request would cap single-record intake at a few hundred a second.
        """
        if not rows:
            return Accepted(0)
        done = threading.Event()
        ticket = self._enqueue(rows, lambda _: done.set())
        done.wait()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    async def accept_async(self, rows: Sequence[Row]) -> Accepted:
        """:meth:`accept` for the event loop: waits for the group commit without a thread."""
        if not rows:
            return Accepted(0)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def finish(_: _Ticket) -> None:
            loop.call_soon_threadsafe(_resolve, future)

        ticket = self._enqueue(rows, finish)
        await asyncio.shield(future)  # a client that hangs up does not undo the commit
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def _enqueue(self, rows: Sequence[Row], finish: Callable[[_Ticket], None]) -> _Ticket:
        ticket = _Ticket(rows, finish)
        with self._queue_ready:
            self._queue.append(ticket)
            self._queue_ready.notify()
        return ticket

    def _commit_loop(self) -> None:
        while True:
            with self._queue_ready:
                while not self._queue:
                    self._queue_ready.wait()
                taken, self._queue = self._queue, []
            tickets = [t for t in taken if t is not _CLOSE]
            if tickets:
                try:
                    with self._transaction() as conn:
                        for ticket in tickets:
                            ticket.result = self._insert(conn, ticket.rows)
                except Exception as exc:
                    for ticket in tickets:
                        ticket.error = exc
                for ticket in tickets:
                    ticket.finish(ticket)
            if len(tickets) < len(taken):
                return

    @staticmethod
    def _insert(conn: sqlite3.Connection, rows: Sequence[Row]) -> Accepted:
        # Fast path: every id is new, which the insert itself tells (and the usual case).
        conn.execute("SAVEPOINT accept")
        inserted = conn.executemany(_INSERT + " ON CONFLICT (id) DO NOTHING", rows).rowcount
        if inserted == len(rows):
            conn.execute("RELEASE accept")
            return Accepted(inserted)
        # Some id was taken (before, or earlier in ``rows``): sort the rows out one by one.
        conn.execute("ROLLBACK TO accept")
        conn.execute("RELEASE accept")
        ids = orjson.dumps([r[0] for r in rows]).decode()
        known: dict[str, Receipt] = {
            row["id"]: Receipt(
                row["id"],
                row["schema"],
                row["record_hash"],
                row["commitment"],
                row["leaf"],
                row["accepted_at"],
                _record_status(row["status"]),
            )
            for row in conn.execute(
                "SELECT r.id, r.schema, r.record_hash, r.commitment, r.leaf, r.accepted_at,"
                " b.status FROM records r LEFT JOIN batches b ON b.root = r.batch_root"
                " WHERE r.id IN (SELECT value FROM json_each(?))",
                (ids,),
            )
        }
        fresh: list[Row] = []
        others: list[tuple[int, Outcome, Receipt]] = []
        for k, row in enumerate(rows):
            earlier = known.get(row[0])
            if earlier is None:
                known[row[0]] = Receipt(row[0], row[1], row[3], row[5], row[6], row[8], "accepted")
                fresh.append(row)
            elif earlier.schema == row[1] and earlier.record_hash == row[3]:
                others.append((k, Outcome.DUPLICATE, earlier))
            else:
                others.append((k, Outcome.CONFLICT, earlier))
        conn.executemany(_INSERT, fresh)
        return Accepted(len(fresh), others)

    def record(self, record_id: str) -> StoredRecord | None:
        """A record with its batch and revocation, or None."""
        conn = self._reader()
        row = conn.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            return None
        batch = None
        if row["batch_root"] is not None:
            found = conn.execute(
                "SELECT * FROM batches WHERE root = ?", (row["batch_root"],)
            ).fetchone()
            batch = _batch(found)
        revocation = conn.execute(
            "SELECT * FROM revocations WHERE record_id = ?", (record_id,)
        ).fetchone()
        return StoredRecord(
            row["id"],
            row["schema"],
            row["record"],
            row["record_hash"],
            row["salt"],
            row["commitment"],
            row["leaf"],
            _split(row["subjects"]),
            row["accepted_at"],
            row["leaf_index"],
            _split(row["proof"]),
            batch,
            None if revocation is None else _revocation(revocation),
        )

    # -- batching --------------------------------------------------------------------------

    def backlog(self) -> list[Backlog]:
        """Unbatched records per schema."""
        rows = self._reader().execute(
            "SELECT schema, COUNT(*) AS n, MIN(accepted_at) AS oldest FROM records"
            " WHERE batch_root IS NULL GROUP BY schema"
        )
        return [Backlog(row["schema"], row["n"], row["oldest"]) for row in rows]

    def unbatched(self, schema: str, limit: int) -> list[tuple[int, bytes]]:
        """``(seq, leaf)`` of the oldest unbatched records of ``schema``."""
        rows = self._reader().execute(
            "SELECT seq, leaf FROM records WHERE schema = ? AND batch_root IS NULL"
            " ORDER BY seq LIMIT ?",
            (schema, limit),
        )
        return [(row[0], row[1]) for row in rows]

    def save_batch(self, batch: BatchRow, assignments: Sequence[Assignment]) -> None:
        """Persist a signed batch and its records' places in it, before anything is sent."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO batches (root, schema, count, status, signature, deadline, raw_tx,"
                " tx_hash, nonce, gas, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch.root,
                    batch.schema,
                    batch.count,
                    batch.status.value,
                    *_write_values(batch.write),
                    batch.created_at,
                ),
            )
            updated = conn.executemany(
                "UPDATE records SET batch_root = ?, leaf_index = ?, proof = ?"
                " WHERE seq = ? AND batch_root IS NULL",
                [(batch.root, a.leaf_index, b"".join(a.proof), a.seq) for a in assignments],
            ).rowcount
            if updated != len(assignments):
                # Rolls the batch back: a record in two roots would be anchored twice.
                raise RuntimeError(f"{len(assignments) - updated} record(s) were batched already")

    def open_batches(self) -> list[BatchRow]:
        """Batches not yet final, in nonce order."""
        rows = self._reader().execute(
            "SELECT * FROM batches WHERE status != 'final' ORDER BY nonce"
        )
        return [_batch(row) for row in rows]

    def resign_batch(self, root: bytes, write: SignedWrite) -> None:
        """Replace a batch's signed write (same root) once the old one can no longer mine."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE batches SET status = 'pending', block_number = NULL, signature = ?,"
                " deadline = ?, raw_tx = ?, tx_hash = ?, nonce = ?, gas = ? WHERE root = ?",
                (*_write_values(write), root),
            )

    def set_batch_status(
        self,
        root: bytes,
        status: BatchStatus,
        block_number: int | None = None,
        anchored_by: SignedWrite | None = None,
    ) -> None:
        """Record a batch's new status, and the write that anchored it if not the stored one."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE batches SET status = ?, block_number = ?, last_error = NULL WHERE root = ?",
                (status.value, block_number, root),
            )
            if anchored_by is not None:
                conn.execute(
                    "UPDATE batches SET signature = ?, deadline = ?, raw_tx = ?, tx_hash = ?,"
                    " nonce = ?, gas = ? WHERE root = ?",
                    (*_write_values(anchored_by), root),
                )

    def set_batch_error(self, root: bytes, error: str) -> None:
        """Note why a batch is stuck, for /healthz and the logs."""
        with self._transaction() as conn:
            conn.execute("UPDATE batches SET last_error = ? WHERE root = ?", (error, root))

    # -- revocations -----------------------------------------------------------------------

    def request_revocation(
        self, record_id: str, reason: str, reason_hash: bytes
    ) -> tuple[Outcome, RevocationRow]:
        """Ask for a record's revocation, once: the same reason again is a duplicate, another
        reason a conflict."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT * FROM revocations WHERE record_id = ?", (record_id,)
            ).fetchone()
            if row is not None:
                earlier = _revocation(row)
                same = earlier.reason == reason
                return (Outcome.DUPLICATE if same else Outcome.CONFLICT), earlier
            now = time.time()
            conn.execute(
                "INSERT INTO revocations (record_id, reason, reason_hash, status, requested_at)"
                " VALUES (?, ?, ?, 'requested', ?)",
                (record_id, reason, reason_hash, now),
            )
        return Outcome.ACCEPTED, RevocationRow(
            record_id, reason, reason_hash, RevocationStatus.REQUESTED, now, None, None, None
        )

    def open_revocations(self) -> list[RevocationRow]:
        """Revocations not yet mined, oldest first."""
        rows = self._reader().execute(
            "SELECT * FROM revocations WHERE status != 'revoked' ORDER BY requested_at"
        )
        return [_revocation(row) for row in rows]

    def save_revocation(self, record_id: str, write: SignedWrite | None) -> None:
        """Persist a revocation's signed write before it is sent (None: sign it again)."""
        status = RevocationStatus.REQUESTED if write is None else RevocationStatus.PENDING
        values = (None,) * 6 if write is None else _write_values(write)
        with self._transaction() as conn:
            conn.execute(
                "UPDATE revocations SET status = ?, signature = ?, deadline = ?, raw_tx = ?,"
                " tx_hash = ?, nonce = ?, gas = ? WHERE record_id = ?",
                (status.value, *values, record_id),
            )

    def set_revoked(self, record_id: str, block_number: int) -> None:
        """Mark a revocation mined."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE revocations SET status = 'revoked', block_number = ?, last_error = NULL"
                " WHERE record_id = ?",
                (block_number, record_id),
            )

    def set_revocation_error(self, record_id: str, error: str) -> None:
        """Note why a revocation is stuck."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE revocations SET last_error = ? WHERE record_id = ?", (error, record_id)
            )

    # -- figures ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Records by status and open batches, for /healthz and /metrics."""
        conn = self._reader()
        out = {"unbatched": 0, "pending": 0, "anchored": 0, "final": 0}
        out["unbatched"] = conn.execute(
            "SELECT COUNT(*) FROM records WHERE batch_root IS NULL"
        ).fetchone()[0]
        for row in conn.execute("SELECT status, SUM(count) AS n FROM batches GROUP BY status"):
            out[row["status"]] = row["n"]
        out["batches_open"] = conn.execute(
            "SELECT COUNT(*) FROM batches WHERE status != 'final'"
        ).fetchone()[0]
        return out
