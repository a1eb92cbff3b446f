"""Batches: a range of one schema's records under one Merkle root, with its signed write.

Invariants (enforced here, inside the transaction that would break them):

* the live (not superseded) batches of a schema cover its records ``1 .. n`` in order,
  without a gap or an overlap: a new batch starts where the last one ends and holds exactly
  the records of its range, so no record is anchored in two roots and none is skipped;
* a batch's leaves are stored with it, in leaf order, before anything is signed or sent;
  proofs are computed from them, never stored per record;
* a superseded batch's range is covered exactly by the batches that replace it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence

from gateway.outbox.database import Database
from gateway.outbox.records import SCHEMA_SPAN, Records, schema_base
from gateway.outbox.rows import BatchRow, BatchStatus, SignedWrite, split32
from ledger_node.merkle import MerkleTree

#: Trees kept for proofs: a client fetching a batch's proofs one by one builds it once.
TREE_CACHE = 4


def write_of(row: sqlite3.Row) -> SignedWrite | None:
    """The signed write stored in a ``batches`` or ``revocations`` row, if any."""
    if row["raw_tx"] is None:
        return None
    return SignedWrite(
        row["signature"], row["deadline"], row["raw_tx"], row["tx_hash"], row["nonce"], row["gas"]
    )


def write_values(write: SignedWrite) -> tuple[bytes, int, bytes, bytes, int, int]:
    """A signed write's columns, in table order."""
    return (write.signature, write.deadline, write.raw_tx, write.tx_hash, write.nonce, write.gas)


def batch_of(row: sqlite3.Row) -> BatchRow:
    """A ``batches`` row as a :class:`BatchRow`."""
    write = write_of(row)
    assert write is not None  # a batch is stored signed
    return BatchRow(
        row["root"],
        row["schema"],
        row["first_seq"],
        row["count"],
        BatchStatus(row["status"]),
        write,
        row["created_at"],
        row["block_number"],
        row["last_error"],
    )


class BatchRangeError(RuntimeError):
    """A batch would break the ranges' invariant (two batches for a record, or a gap)."""


class Batches:
    """The ``batches`` and ``batch_leaves`` tables."""

    def __init__(self, database: Database, records: Records) -> None:
        self._database = database
        self._records = records
        self._trees: OrderedDict[bytes, MerkleTree] = OrderedDict()
        self._trees_lock = threading.Lock()
        #: Counts the changes this process made to the batches table (each after its commit):
        #: a reader that saw the table at one count need not look again until it moves.
        self.changes = 0
        self._changes_lock = threading.Lock()

    # -- ranges --------------------------------------------------------------------------------

    def next_seq(self, schema: str) -> int:
        """The number of the schema's first record not in a live batch."""
        code = self._records.code(schema)
        if code is None:
            raise KeyError(f"no {schema} record was ever accepted")
        return _next_seq(self._database.reader(), schema_base(code))

    def save(self, batch: BatchRow, leaves: Sequence[bytes]) -> None:
        """Persist a signed batch and its leaves, before anything is sent."""
        with self._database.transaction() as conn:
            if self._records.schema_of(batch.first_seq) != batch.schema:
                raise BatchRangeError(f"record {batch.first_seq} is not a {batch.schema} record")
            expected = _next_seq(conn, batch.first_seq // SCHEMA_SPAN * SCHEMA_SPAN)
            if batch.first_seq != expected:
                raise BatchRangeError(
                    f"a batch of {batch.schema} must start at record {expected}, not "
                    f"{batch.first_seq}"
                )
            self._insert(conn, batch, leaves)
        self._changed()

    def supersede(
        self, root: bytes, replacements: Sequence[tuple[BatchRow, Sequence[bytes]]]
    ) -> None:
        """Give a batch's records to ``replacements`` (which cover its range exactly, in order)
        and mark it superseded."""
        with self._database.transaction() as conn:
            old = conn.execute("SELECT * FROM batches WHERE root = ?", (root,)).fetchone()
            if old is None:
                raise BatchRangeError(f"no batch 0x{root.hex()} to supersede")
            at = old["first_seq"]
            for batch, _ in replacements:
                if batch.schema != old["schema"] or batch.first_seq != at or batch.count < 1:
                    raise BatchRangeError("replacement batches must cover the range in order")
                at += batch.count
            if at != old["first_seq"] + old["count"]:
                raise BatchRangeError("replacement batches must cover the whole range")
            conn.execute("UPDATE batches SET status = 'superseded' WHERE root = ?", (root,))
            for batch, leaves in replacements:
                self._insert(conn, batch, leaves)
        self._changed()

    def _changed(self) -> None:
        with self._changes_lock:
            self.changes += 1

    @staticmethod
    def _insert(conn: sqlite3.Connection, batch: BatchRow, leaves: Sequence[bytes]) -> None:
        if len(leaves) != batch.count:
            raise BatchRangeError(f"{len(leaves)} leaves for a batch of {batch.count}")
        (stored,) = conn.execute(
            "SELECT COUNT(*) FROM records WHERE seq >= ? AND seq < ?",
            (batch.first_seq, batch.end_seq),
        ).fetchone()
        if stored != batch.count:
            raise BatchRangeError(
                f"records {batch.first_seq}..{batch.end_seq - 1} of {batch.schema}: "
                f"{stored} stored, {batch.count} batched"
            )
        cursor = conn.execute(
            "INSERT INTO batches (root, schema, first_seq, count, status, signature, deadline,"
            " raw_tx, tx_hash, nonce, gas, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                batch.root,
                batch.schema,
                batch.first_seq,
                batch.count,
                batch.status.value,
                *write_values(batch.write),
                batch.created_at,
            ),
        )
        conn.execute(
            "INSERT INTO batch_leaves (batch, leaves) VALUES (?, ?)",
            (cursor.lastrowid, b"".join(leaves)),
        )

    # -- the batcher's view ----------------------------------------------------------------------

    def open(self) -> list[BatchRow]:
        """Batches signed but not yet final (nor superseded), in nonce order."""
        rows = self._database.reader().execute(
            "SELECT * FROM batches WHERE status NOT IN ('final', 'superseded') ORDER BY nonce"
        )
        return [batch_of(row) for row in rows]

    def get(self, root: bytes) -> BatchRow | None:
        """The batch stored under ``root``, if any."""
        row = (
            self._database.reader()
            .execute("SELECT * FROM batches WHERE root = ?", (root,))
            .fetchone()
        )
        return None if row is None else batch_of(row)

    def resign(self, root: bytes, write: SignedWrite) -> None:
        """Replace a batch's signed write (same root) once the old one can no longer mine."""
        with self._database.transaction() as conn:
            conn.execute(
                "UPDATE batches SET status = 'pending', block_number = NULL, signature = ?,"
                " deadline = ?, raw_tx = ?, tx_hash = ?, nonce = ?, gas = ? WHERE root = ?",
                (*write_values(write), root),
            )
        self._changed()

    def set_status(
        self,
        root: bytes,
        status: BatchStatus,
        block_number: int | None = None,
        anchored_by: SignedWrite | None = None,
    ) -> None:
        """Record a batch's new status, and the write that anchored it if not the stored one."""
        with self._database.transaction() as conn:
            conn.execute(
                "UPDATE batches SET status = ?, block_number = ?, last_error = NULL WHERE root = ?",
                (status.value, block_number, root),
            )
            if anchored_by is not None:
                conn.execute(
                    "UPDATE batches SET signature = ?, deadline = ?, raw_tx = ?, tx_hash = ?,"
                    " nonce = ?, gas = ? WHERE root = ?",
                    (*write_values(anchored_by), root),
                )
        self._changed()

    def set_error(self, root: bytes, error: str) -> None:
        """Note why a batch is stuck, for /healthz and the logs."""
        with self._database.transaction() as conn:
            conn.execute("UPDATE batches SET last_error = ? WHERE root = ?", (error, root))

    # -- leaves and proofs ---------------------------------------------------------------------

    def leaves(self, root: bytes) -> tuple[bytes, ...]:
        """A batch's leaves, in leaf order."""
        row = (
            self._database.reader()
            .execute(
                "SELECT l.leaves FROM batch_leaves l JOIN batches b ON b.batch = l.batch"
                " WHERE b.root = ?",
                (root,),
            )
            .fetchone()
        )
        if row is None:
            raise KeyError(f"no batch 0x{root.hex()} in the outbox")
        return split32(row[0])

    def tree(self, root: bytes) -> MerkleTree:
        """The Merkle tree of a batch, built from its stored leaves (a few are cached)."""
        with self._trees_lock:
            tree = self._trees.get(root)
            if tree is not None:
                self._trees.move_to_end(root)
                return tree
        tree = MerkleTree(self.leaves(root))
        if tree.root != root:
            raise BatchRangeError(f"the stored leaves of batch 0x{root.hex()} do not make its root")
        with self._trees_lock:
            self._trees[root] = tree
            while len(self._trees) > TREE_CACHE:
                self._trees.popitem(last=False)
        return tree

    def proof(self, root: bytes, index: int) -> tuple[bytes, ...]:
        """The Merkle proof of leaf ``index`` of the batch ``root``."""
        return self.tree(root).proof(index)


def _next_seq(conn: sqlite3.Connection, base: int) -> int:
    """The first number after the live batches of the schema whose numbers follow ``base``."""
    row = conn.execute(
        "SELECT first_seq + count FROM batches WHERE first_seq > ? AND first_seq < ?"
        " AND status != 'superseded' ORDER BY first_seq DESC LIMIT 1",
        (base, base + SCHEMA_SPAN),
    ).fetchone()
    return base + 1 if row is None else int(row[0])
