"""Accepted records: written once, never updated, numbered per schema in order of acceptance.

A record's number (its ``seq``, the table's primary key) is ``(schema code << 40) | n`` for
the ``n``-th record of its schema, so the records of one schema are one contiguous key range,
in the order they were accepted, and a batch is a range of numbers: placing records in a
batch writes nothing to the records themselves, and reading a batch's leaves reads one range.

Invariants (enforced here):

* a record id is taken once: a second post of the same record is a duplicate, of another
  record a conflict, and neither writes anything;
* a schema's records are numbered ``n = 1, 2, 3, ...`` without a gap, in commit order (only
  the committer thread numbers, and a failed transaction hands its numbers back);
* a schema's code never changes once given (it is stored in the same transaction as the
  schema's first record).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence

import orjson

from gateway.outbox.database import Database
from gateway.outbox.rows import (
    Accepted,
    Outcome,
    Receipt,
    Row,
    commitment_of,
    leaf_of,
    record_hash_of,
    record_status,
)

#: Records one schema may hold: numbers of schema code ``c`` lie in ``[c << 40, c + 1 << 40)``.
SCHEMA_SPAN = 1 << 40

_INSERT = "INSERT INTO records (seq, id, record, digests, accepted_at) VALUES (?, ?, ?, ?, ?)"


def schema_base(code: int) -> int:
    """The number before a schema's first record."""
    return code * SCHEMA_SPAN


class Records:
    """The ``records`` and ``schemas`` tables."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._codes_lock = threading.Lock()
        self._codes: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._load_codes()
        # The next number of each schema; only the committer thread reads or moves it.
        self._next = self._committed_next()

    def _committed_next(self) -> dict[str, int]:
        return {name: self.newest(name) + 1 for name in self.schemas()}

    # -- schema codes ----------------------------------------------------------------------------

    def schemas(self) -> list[str]:
        """The schemas of which records were ever accepted."""
        with self._codes_lock:
            return list(self._codes)

    def code(self, schema: str) -> int | None:
        """A schema's code, None before its first record."""
        with self._codes_lock:
            return self._codes.get(schema)

    def schema_of(self, seq: int) -> str:
        """The schema of record number ``seq``."""
        with self._codes_lock:
            return self._names[seq // SCHEMA_SPAN]

    def _code_for(self, conn: sqlite3.Connection, schema: str) -> int:
        """The schema's code, given (and stored, in the caller's transaction) on first use."""
        with self._codes_lock:
            code = self._codes.get(schema)
            if code is None:
                code = max(self._names, default=0) + 1
                conn.execute("INSERT INTO schemas (code, name) VALUES (?, ?)", (code, schema))
                self._codes[schema] = code
                self._names[code] = schema
            return code

    # -- accepting (the committer thread) ------------------------------------------------------

    def insert(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> Accepted:
        """Insert the rows whose id is new; report the others (inside the committer's
        transaction)."""
        # Fast path: every id is new, which the insert itself tells (and the usual case).
        counters = dict(self._next)
        conn.execute("SAVEPOINT accept")
        inserted = conn.executemany(
            _INSERT + " ON CONFLICT (id) DO NOTHING", self._numbered(conn, rows, counters)
        ).rowcount
        if inserted == len(rows):
            conn.execute("RELEASE accept")
            self._next = counters
            return Accepted(inserted)
        # Some id was taken (before, or earlier in ``rows``): sort the rows out one by one.
        conn.execute("ROLLBACK TO accept")
        conn.execute("RELEASE accept")
        known = self.receipts(conn, [row[0] for row in rows])
        fresh: list[Row] = []
        fresh_records: dict[str, bytes] = {}
        others: list[tuple[int, Outcome, Receipt]] = []
        for k, row in enumerate(rows):
            record_id, schema, _, blob, accepted_at = row
            earlier = known.get(record_id)
            if earlier is None:
                fresh_records[record_id] = row[2]
                known[record_id] = Receipt(
                    record_id, schema, record_hash_of(blob), commitment_of(blob), leaf_of(blob),
                    accepted_at, "accepted",
                )  # fmt: skip
                fresh.append(row)
            elif earlier.schema == schema and (
                earlier.record_hash == record_hash_of(blob)
                or self._same_record(conn, record_id, row[2], fresh_records)
            ):
                others.append((k, Outcome.DUPLICATE, earlier))
            else:
                others.append((k, Outcome.CONFLICT, earlier))
        counters = dict(self._next)
        conn.executemany(_INSERT, self._numbered(conn, fresh, counters))
        self._next = counters
        return Accepted(len(fresh), others)

    @staticmethod
    def _same_record(
        conn: sqlite3.Connection, record_id: str, record: bytes, pending: dict[str, bytes]
    ) -> bool:
        """Whether the record held under ``record_id`` (stored, or ``pending`` in this very
        commit) is ``record`` (JSON bytes): the test for a re-post when record hashes are
        salted (proof v2), and so differ from one post to the next."""
        held = pending.get(record_id)
        if held is None:
            stored = conn.execute(
                "SELECT record FROM records WHERE id = ?", (record_id,)
            ).fetchone()
            if stored is None:
                return False
            held = stored[0]
        return bool(orjson.loads(held) == orjson.loads(record))

    def _numbered(
        self, conn: sqlite3.Connection, rows: Sequence[Row], counters: dict[str, int]
    ) -> Iterator[tuple[int, str, bytes, bytes, float]]:
        """The rows as inserted, each with the next number of its schema."""
        bases: dict[str, int] = {}
        for record_id, schema, record, blob, accepted_at in rows:
            base = bases.get(schema)
            if base is None:
                base = bases[schema] = schema_base(self._code_for(conn, schema))
            n = counters.get(schema, 1)
            counters[schema] = n + 1
            yield (base + n, record_id, record, blob, accepted_at)

    def rolled_back(self) -> None:
        """The committer's transaction failed: its numbers (and new codes) are free again."""
        self._load_codes()
        self._next = self._committed_next()

    def _load_codes(self) -> None:
        rows = self._database.reader().execute("SELECT code, name FROM schemas").fetchall()
        with self._codes_lock:
            self._codes = {str(name): int(code) for code, name in rows}
            self._names = {code: name for name, code in self._codes.items()}

    # -- reading -------------------------------------------------------------------------------

    def newest(self, schema: str) -> int:
        """The number within its schema of the schema's newest record (0: none yet)."""
        code = self.code(schema)
        if code is None:
            return 0
        base = schema_base(code)
        (last,) = (
            self._database.reader()
            .execute(
                "SELECT MAX(seq) FROM records WHERE seq > ? AND seq < ?", (base, base + SCHEMA_SPAN)
            )
            .fetchone()
        )
        return 0 if last is None else int(last) - base

    def accepted_at(self, seq: int) -> float | None:
        """When record number ``seq`` was accepted (None: no such record)."""
        row = (
            self._database.reader()
            .execute("SELECT accepted_at FROM records WHERE seq = ?", (seq,))
            .fetchone()
        )
        return None if row is None else float(row[0])

    def leaves(self, first_seq: int, limit: int) -> list[bytes]:
        """The leaves of records ``first_seq, first_seq + 1, ...`` of its schema, at most
        ``limit``, in order."""
        end = (first_seq // SCHEMA_SPAN + 1) * SCHEMA_SPAN
        rows = self._database.reader().execute(
            "SELECT substr(digests, 97, 32) FROM records WHERE seq >= ? AND seq < ?"
            " ORDER BY seq LIMIT ?",
            (first_seq, end, limit),
        )
        return [row[0] for row in rows]

    def receipts(self, conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Receipt]:
        """The receipts of whichever of ``ids`` are stored, with their status."""
        # A record's batch: the live batch whose range starts nearest at or before its
        # number, if the number falls below that batch's end (ranges are contiguous).
        rows = conn.execute(
            "SELECT r.id, r.seq, r.digests, r.accepted_at, b.status,"
            " b.first_seq + b.count AS end_seq FROM records r"
            " LEFT JOIN batches b ON b.batch = (SELECT c.batch FROM batches c"
            " WHERE c.first_seq <= r.seq AND c.status != 'superseded'"
            " ORDER BY c.first_seq DESC LIMIT 1)"
            " WHERE r.id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(ids)).decode(),),
        )
        out = {}
        for record_id, seq, blob, accepted_at, status, end_seq in rows:
            in_batch = end_seq is not None and seq < end_seq
            out[record_id] = Receipt(
                record_id,
                self.schema_of(seq),
                record_hash_of(blob),
                commitment_of(blob),
                leaf_of(blob),
                accepted_at,
                record_status(status if in_batch else None),
            )
        return out
