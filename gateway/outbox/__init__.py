"""The durable outbox of one gateway: records, the batches that anchor them, revocations.

* :mod:`~gateway.outbox.database` — the SQLite file, its pragmas, tables and checkpointer;
* :mod:`~gateway.outbox.commit` — group commit (one fsync for many requests);
* :mod:`~gateway.outbox.records` — accepted records, written once and numbered per schema;
* :mod:`~gateway.outbox.batches` — ranges of records under a root, their leaves and proofs;
* :mod:`~gateway.outbox.revocations` — revocation requests and their writes;
* :mod:`~gateway.outbox.exchanges` — the exchange's index of disclosable facts and its answers;
* :mod:`~gateway.outbox.rows` — the row types.

A record's status is not stored on the record: it follows from the batch whose range holds
it (none or pending: ``accepted``; ``anchored``; ``final``) and its revocation, so cutting a
batch of 10,000 records writes one row and a record can never disagree with its batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from gateway.outbox.batches import Batches, batch_of
from gateway.outbox.commit import GroupCommit
from gateway.outbox.database import Database
from gateway.outbox.exchanges import Exchanges
from gateway.outbox.records import Records, schema_base
from gateway.outbox.revocations import Revocations
from gateway.outbox.rows import (
    Accepted,
    Backlog,
    BatchRow,
    BatchStatus,
    Outcome,
    Receipt,
    RevocationRow,
    RevocationStatus,
    Row,
    SignedWrite,
    StoredRecord,
    commitment_of,
    leaf_of,
    record_hash_of,
    salt_of,
    subjects_of,
)

__all__ = [
    "Accepted",
    "Backlog",
    "BatchRow",
    "BatchStatus",
    "Outbox",
    "Outcome",
    "Receipt",
    "RevocationRow",
    "RevocationStatus",
    "Row",
    "SignedWrite",
    "StoredRecord",
]


class Outbox:
    """The outbox database of one gateway."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.database = Database(path, synchronous)
        self.records = Records(self.database)
        self.batches = Batches(self.database, self.records)
        self.revocations = Revocations(self.database)
        self.exchanges = Exchanges(self.database, self.records, self.batches)
        self._commit = GroupCommit(self.database, self.records)

    @property
    def path(self) -> Path:
        """The database file."""
        return self.database.path

    def close(self) -> None:
        """Commit what is queued, then stop the committer and checkpointer."""
        self._commit.close()
        self.database.close()

    def bind(self, identity: dict[str, str]) -> dict[str, str]:
        """See :meth:`Database.bind`."""
        return self.database.bind(identity)

    # -- accepting -----------------------------------------------------------------------------

    def accept(self, rows: Sequence[Row]) -> Accepted:
        """Commit the new rows (group commit); report the others as duplicates or conflicts."""
        return self._commit.accept(rows)

    async def accept_async(
        self,
        rows: Sequence[Row],
        also: Callable[[sqlite3.Connection], None] | None = None,
        stamps: list[float] | None = None,
    ) -> Accepted:
        """:meth:`accept` for the event loop; ``also`` writes more in the same transaction;
        ``stamps`` gets the group commit's times (:meth:`GroupCommit.accept_async`)."""
        return await self._commit.accept_async(rows, also, stamps)

    # -- reading -------------------------------------------------------------------------------

    def record(self, record_id: str) -> StoredRecord | None:
        """A record with its batch and revocation, or None."""
        conn = self.database.reader()
        row = conn.execute(
            "SELECT seq, record, digests, accepted_at FROM records WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            return None
        seq, record, blob, accepted_at = row
        found = conn.execute(
            "SELECT * FROM batches WHERE first_seq <= ? AND status != 'superseded'"
            " ORDER BY first_seq DESC LIMIT 1",
            (seq,),
        ).fetchone()
        batch = None if found is None else batch_of(found)
        if batch is not None and seq >= batch.end_seq:
            batch = None
        return StoredRecord(
            record_id,
            self.records.schema_of(seq),
            seq,
            record,
            record_hash_of(blob),
            salt_of(blob),
            commitment_of(blob),
            leaf_of(blob),
            subjects_of(blob),
            accepted_at,
            batch,
            self.revocations.get(record_id),
        )

    def proof(self, stored: StoredRecord) -> tuple[bytes, ...]:
        """The Merkle proof of a batched record, from its batch's stored leaves."""
        if stored.batch is None or stored.leaf_index is None:
            raise ValueError(f"record {stored.id!r} is not in a batch")
        return self.batches.proof(stored.batch.root, stored.leaf_index)

    # -- batching ------------------------------------------------------------------------------

    def backlog(self) -> list[Backlog]:
        """Unbatched records per schema."""
        out = []
        for schema in self.records.schemas():
            code = self.records.code(schema)
            assert code is not None
            newest = schema_base(code) + self.records.newest(schema)
            first = self.batches.next_seq(schema)
            if newest >= first:
                oldest = self.records.accepted_at(first)
                assert oldest is not None  # numbers have no gaps
                out.append(Backlog(schema, first, newest - first + 1, oldest))
        return out

    def counts(self) -> dict[str, int]:
        """Records by status and open batches, for /healthz and /metrics."""
        total = unbatched = 0
        for backlog_schema in self.records.schemas():
            code = self.records.code(backlog_schema)
            assert code is not None
            newest = self.records.newest(backlog_schema)
            total += newest
            unbatched += schema_base(code) + newest + 1 - self.batches.next_seq(backlog_schema)
        out = {"unbatched": unbatched, "pending": 0, "anchored": 0, "final": 0, "batches_open": 0}
        rows = self.database.reader().execute(
            "SELECT status, SUM(count), COUNT(*) FROM batches"
            " WHERE status NOT IN ('final', 'superseded') GROUP BY status"
        )
        for status, records, batches in rows:
            out[status] = records
            out["batches_open"] += batches
        out["final"] = total - unbatched - out["pending"] - out["anchored"]
        return out
