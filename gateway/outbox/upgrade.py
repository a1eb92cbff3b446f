"""Upgrading an outbox written before this package (layout 1) to the current layout, in place.

Layout 1 kept each record's batch, leaf index and Merkle proof on the record's row, and
numbered records across all schemas. Its batches were cut from the oldest unbatched records
of a schema, so each batch's records, in leaf order, are consecutive records of its schema:
the upgrade numbers each schema's records in their original order, turns every batch into
the range its records now occupy, and stores its leaves. It checks that layout-1 property
(and that every batch's leaves still make its root) rather than assume it, and changes
nothing if it does not hold. Signed writes, statuses and revocations carry over as they are.
One transaction: a crash during the upgrade leaves layout 1, to be upgraded again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from gateway.outbox.records import SCHEMA_SPAN, schema_base
from gateway.outbox.rows import digests
from ledger_node.errors import ConfigurationError
from ledger_node.merkle import MerkleTree


def upgrade_layout1(
    conn: sqlite3.Connection, create_tables: Callable[[sqlite3.Connection], None]
) -> None:
    """Rewrite a layout-1 outbox on ``conn`` (the writer, outside a transaction)."""
    # Dropping the old records table must not trip the revocations' foreign key, and
    # renaming it must not rewrite that key to follow it (it is to name the new table).
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA legacy_alter_table=ON")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for old in ("records_unbatched", "batches_open"):
                conn.execute(f"DROP INDEX IF EXISTS {old}")
            conn.execute("ALTER TABLE records RENAME TO records_layout1")
            conn.execute("ALTER TABLE batches RENAME TO batches_layout1")
            create_tables(conn)
            _copy_batches(conn, _copy_records(conn))
            conn.execute("DROP TABLE records_layout1")
            conn.execute("DROP TABLE batches_layout1")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute("PRAGMA legacy_alter_table=OFF")
        conn.execute("PRAGMA foreign_keys=ON")


def _copy_records(conn: sqlite3.Connection) -> dict[int, int]:
    """Number each schema's records in their order; the new number of each old one."""
    codes: dict[str, int] = {}
    counts: dict[str, int] = {}
    seqs: dict[int, int] = {}
    rows = []
    for (
        seq,
        record_id,
        schema,
        record,
        record_hash,
        salt,
        commitment,
        leaf,
        subjects,
        at,
    ) in conn.execute(
        "SELECT seq, id, schema, record, record_hash, salt, commitment, leaf, subjects,"
        " accepted_at FROM records_layout1 ORDER BY seq"
    ):
        if schema not in codes:
            codes[schema] = len(codes) + 1
            conn.execute("INSERT INTO schemas (code, name) VALUES (?, ?)", (codes[schema], schema))
        counts[schema] = counts.get(schema, 0) + 1
        seqs[seq] = schema_base(codes[schema]) + counts[schema]
        rows.append(
            (
                seqs[seq],
                record_id,
                record,
                digests(record_hash, salt, commitment, leaf, subjects),
                at,
            )
        )
    conn.executemany(
        "INSERT INTO records (seq, id, record, digests, accepted_at) VALUES (?, ?, ?, ?, ?)", rows
    )
    return seqs


def _copy_batches(conn: sqlite3.Connection, seqs: dict[int, int]) -> None:
    """Each batch as the range of its records' new numbers, with its leaves."""
    members: dict[bytes, list[tuple[int, int, bytes]]] = {}
    for seq, root, index, leaf in conn.execute(
        "SELECT seq, batch_root, leaf_index, leaf FROM records_layout1 WHERE batch_root IS NOT NULL"
    ):
        members.setdefault(root, []).append((index, seqs[seq], leaf))
    batched_up_to: dict[int, int] = {}
    for row in conn.execute("SELECT * FROM batches_layout1 ORDER BY created_at").fetchall():
        root = row["root"]
        placed = sorted(members.get(root, []))
        numbers = [number for _, number, _ in placed]
        first = numbers[0] if numbers else 0
        if len(placed) != row["count"] or numbers != list(range(first, first + row["count"])):
            raise ConfigurationError(
                f"batch 0x{root.hex()} of the layout-1 outbox does not hold consecutive "
                f"records of {row['schema']}; it was not written by a taxledger gateway, so it "
                "is left as it is"
            )
        leaves = [leaf for _, _, leaf in placed]
        if MerkleTree(leaves).root != root:
            raise ConfigurationError(f"the stored leaves of batch 0x{root.hex()} make another root")
        cursor = conn.execute(
            "INSERT INTO batches (root, schema, first_seq, count, status, signature, deadline,"
            " raw_tx, tx_hash, nonce, gas, created_at, block_number, last_error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                root, row["schema"], first, row["count"], row["status"], row["signature"],
                row["deadline"], row["raw_tx"], row["tx_hash"], row["nonce"], row["gas"],
                row["created_at"], row["block_number"], row["last_error"],
            ),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO batch_leaves (batch, leaves) VALUES (?, ?)",
            (cursor.lastrowid, b"".join(leaves)),
        )
        code = first // SCHEMA_SPAN
        batched_up_to[code] = max(batched_up_to.get(code, 0), first + row["count"])
    # Unbatched records must all follow their schema's batches, as the batcher cut them.
    for (number,) in conn.execute(
        "SELECT r.seq FROM records r JOIN records_layout1 o ON o.id = r.id"
        " WHERE o.batch_root IS NULL"
    ):
        if number < batched_up_to.get(number // SCHEMA_SPAN, 0):
            raise ConfigurationError(
                f"record {number} of the layout-1 outbox is unbatched amid batched ones; it "
                "was not written by a taxledger gateway, so it is left as it is"
            )
